using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Rampart.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(Rampart.Benchmarks.HotPathBenchmarks).Assembly).Run(args);
