using BenchmarkDotNet.Running;
using LlmRouter.Benchmarks.Simulation;

// dotnet run -c Release --project benchmarks/LlmRouter.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/LlmRouter.Benchmarks -- --hedging [seed]
if (args.Length > 0 && args[0] == "--hedging")
{
    HedgingSimulation.Run(args.Length > 1 && int.TryParse(args[1], out int seed) ? seed : 7);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(LlmRouter.Benchmarks.RouterOverheadBenchmarks).Assembly).Run(args);
