using BenchmarkDotNet.Running;

// dotnet run -c Release --project benchmarks/LlmRouter.Benchmarks -- --filter '*'
BenchmarkSwitcher.FromAssembly(typeof(LlmRouter.Benchmarks.RouterOverheadBenchmarks).Assembly).Run(args);
