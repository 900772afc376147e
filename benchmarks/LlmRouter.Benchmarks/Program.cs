using BenchmarkDotNet.Running;
using LlmRouter.Benchmarks.Simulation;

// dotnet run -c Release --project benchmarks/LlmRouter.Benchmarks -- --filter '*'
// dotnet run -c Release --project benchmarks/LlmRouter.Benchmarks -- --hedging [seed]
// dotnet run -c Release --project benchmarks/LlmRouter.Benchmarks -- fleet-scale [instances...]   (default 1 3 8; needs redis-server)
if (args.Length > 0 && args[0] is "fleet-scale" or "--fleet-scale")
{
    int[] sizes = args.Skip(1).Select(int.Parse).ToArray();
    await LlmRouter.Benchmarks.FleetScale.FleetScaleRun.RunAsync(sizes.Length > 0 ? sizes : [1, 3, 8]);
    return;
}

if (args.Length > 0 && args[0] == "--hedging")
{
    HedgingSimulation.Run(args.Length > 1 && int.TryParse(args[1], out int seed) ? seed : 7);
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(LlmRouter.Benchmarks.RouterOverheadBenchmarks).Assembly).Run(args);
