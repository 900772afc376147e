using System.Diagnostics;
using LlmRouter.ChaosDemo;

// The main job: a month of traffic against three misbehaving providers, through four systems, on simulated time.
ChaosOptions options;
try
{
    options = args.Contains("--help") ? throw new OperationCanceledException() : ChaosOptions.Parse(args);
}
catch (OperationCanceledException)
{
    Console.WriteLine(ChaosOptions.Usage);
    return 0;
}
catch (ArgumentException error)
{
    Console.Error.WriteLine($"error: {error.Message.Split(" (Parameter")[0]}");
    Console.Error.WriteLine(ChaosOptions.Usage);
    return 2;
}

if (options.Fleet is not null)
{
    // Real time, with Redis: Ctrl+C stops the run, and the redis-server the demo started is killed on the way out.
    using var stop = new CancellationTokenSource();
    ConsoleCancelEventHandler onCancel = (_, e) =>
    {
        e.Cancel = true;
        stop.Cancel();
    };
    Console.CancelKeyPress += onCancel;
    try
    {
        return await FleetDemo.RunAsync(options, Console.Out, Console.Error, stop.Token);
    }
    catch (OperationCanceledException) when (stop.IsCancellationRequested)
    {
        Console.Error.WriteLine("Cancelled.");
        return 130;
    }
    finally
    {
        Console.CancelKeyPress -= onCancel;
    }
}

if (options.Scenario == Scenario.Cost)
{
    CostReport.Run(options, Console.Out, !Console.IsOutputRedirected);
    return 0;
}

List<FaultWindow>[] faults = [.. ProviderProfile.All.Select((_, i) => FaultSchedule.For(i, options))];
var results = new List<RunResult>();
var clock = Stopwatch.StartNew();
bool interactive = !Console.IsOutputRedirected;
foreach (SystemKind system in Enum.GetValues<SystemKind>())
{
    string label = Report.Label(system);
    int lastShown = -1;
    results.Add(SimulationRun.Run(system, options, faults, fraction =>
    {
        int percent = (int)(fraction * 100);
        if (percent == lastShown || (!interactive && percent % 25 != 0))
        {
            return;
        }

        lastShown = percent;
        int filled = percent / 4;
        string bar = $"[{new string('#', filled)}{new string('.', 25 - filled)}] {percent,3}% {label}";
        if (interactive)
        {
            Console.Write($"\r{bar}");
        }
        else
        {
            Console.WriteLine(bar);
        }
    }));

    if (interactive)
    {
        Console.WriteLine();
    }

    Console.WriteLine($"  {label} done ({clock.Elapsed.TotalSeconds:0.0} s)");
}

Report.Print(results, options, faults, Console.Out);
SvgChart.Write(options.ChartPath, results, options, faults);
Console.WriteLine();
Console.WriteLine($"Chart: {Path.GetFullPath(options.ChartPath)}");
Console.WriteLine($"Simulated {options.Days} days × {results.Count} systems in {clock.Elapsed.TotalSeconds:0.0} s.");
return 0;
