// Every Dapper call in Rampart is compiled by Dapper.AOT: its source generator replaces the call with code written for
// that SQL and those types at build time, so nothing is emitted or reflected at run time (a Native AOT build cannot do
// either), and a call it cannot compile fails the build (DAP warnings are errors here). Two conventions follow from it:
// - A command's cancellation goes in its parameters: a CancellationToken member of the parameter object, or the token
//   itself as the parameters. Dapper.AOT does not read CommandDefinition, so that is not used.
// - A query without parameters, or whose parameters are a DynamicParameters bag, is read with
//   QueryUnbufferedAsync(...).ToListAsync(token) (or FirstAsync): the enumeration's token cancels the command. (A token
//   alone as the parameters of a constant SQL text draws DAP018 from Dapper.AOT 1.1.0.)
// Types Dapper reads rows into, or takes parameters from, are internal, not private: the generated code must see them.
[module: Dapper.DapperAot]
