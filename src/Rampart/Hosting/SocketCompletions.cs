using System.Runtime.CompilerServices;

namespace Rampart.Hosting;

/// <summary>
/// Where the continuation of a finished socket read or write runs. By default .NET's socket engine on Linux hands every
/// completion from its epoll thread to the thread pool: one queue hop, and on a busy CPU one thread switch, per socket
/// event; a relayed stream has one per chunk from the provider. An operator can set
/// <c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c> to run them on the event threads instead (one per CPU),
/// as benchmark-tuned ASP.NET servers do: measured about 11 % less CPU per streamed answer on one CPU (docs/benchmarks.md).
/// <para>
/// It is not the default because of what it asks of every line after an <c>await</c> on a socket: nothing there may
/// block or run long, since the event thread serves every socket assigned to it. The gateway keeps to that — Kestrel
/// runs the request pipeline on the thread pool, the audit writer and SQLite run there, and the large pieces of work
/// that can follow a socket read move there first (<see cref="LeaveEventThreadAsync"/>) — but any slow continuation,
/// ours or a library's, would stall every socket of its thread, a failure the thread pool's hand-off does not have.
/// </para>
/// </summary>
internal static class SocketCompletions
{
    public const string Variable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Below this a prompt or an answer is parsed and scanned wherever it arrived: well under a millisecond of work.</summary>
    public const long LargeBodyBytes = 64 * 1024;

    /// <summary>
    /// Continues on the thread pool when called on a socket event thread (any thread not the pool's) with a body of at
    /// least <see cref="LargeBodyBytes"/> or of unknown length; otherwise, and always in .NET's default mode, at once.
    /// </summary>
    public static ThreadPoolHop LeaveEventThreadAsync(long? bodyBytes) =>
        new(!Thread.CurrentThread.IsThreadPoolThread && !(bodyBytes < LargeBodyBytes));

    /// <summary>
    /// Awaited, queues what follows to the thread pool when a hop is needed. It is never complete before the await, so
    /// the continuation cannot be run inline on the event thread: an <c>async</c> method around <c>Task.Yield()</c>
    /// could be, when the pool finished it before the caller got to its <c>await</c>.
    /// </summary>
    internal readonly struct ThreadPoolHop(bool needed) : ICriticalNotifyCompletion
    {
        public ThreadPoolHop GetAwaiter() => this;

        public bool IsCompleted => !needed;

        public void GetResult()
        {
        }

        public void OnCompleted(Action continuation) =>
            ThreadPool.QueueUserWorkItem(static run => run(), continuation, preferLocal: false);

        public void UnsafeOnCompleted(Action continuation) =>
            ThreadPool.UnsafeQueueUserWorkItem(static run => run(), continuation, preferLocal: false);
    }
}
