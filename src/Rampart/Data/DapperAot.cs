// Every Dapper call in Rampart is compiled by Dapper.AOT: its source generator replaces the call with code written for
// that SQL and those types at build time, so nothing is emitted or reflected at run time (a Native AOT build cannot do
// either). Each reason it reports for leaving a call to plain Dapper is a build error (.editorconfig). It follows that:
// - A command's cancellation goes in its parameters: a CancellationToken member of the parameter object, or the token
//   itself as the parameters. Dapper.AOT does not read CommandDefinition, which is banned (BannedSymbols.txt).
// - A query without parameters, or whose parameters are a DynamicParameters bag, is read with
//   QueryUnbufferedAsync(...).ToListAsync(token) (or FirstAsync): the enumeration's token cancels the command. (A token
//   alone as the parameters of a constant SQL text draws DAP018 from Dapper.AOT 1.1.0.)
// - Types Dapper reads rows into, or takes parameters from, are internal, not private: the generated code must see them.
// - A parameter value made by code another source generator writes (the JSON contexts) goes through a method of ours
//   with a declared type: Dapper.AOT cannot see that code, and skips the call without a word.
// Dapper.AOT 1.1.0 skips calls silently in other cases too: a long-lived compiler server once left 23 of 56 calls out
// after edits (so this project compiles without the shared compiler server), and DapperAotTests fails for any call
// left out.
[module: Dapper.DapperAot]
