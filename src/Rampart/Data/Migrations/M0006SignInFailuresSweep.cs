namespace Rampart.Data.Migrations;

/// <summary>
/// An index on when a sign-in failure was last counted, so the rows of addresses nobody has tried for a day can be
/// deleted cheaply (see <see cref="Dashboard.SignInThrottle"/>): the table is keyed by whatever address is typed in,
/// and without the sweep anyone could grow it without bound.
/// </summary>
internal static class M0006SignInFailuresSweep
{
    public static readonly Migration Migration = new(6, "sign_in_failures_sweep", _ =>
    [
        "CREATE INDEX ix_sign_in_failures_updated_at ON sign_in_failures (updated_at)",
    ]);
}
