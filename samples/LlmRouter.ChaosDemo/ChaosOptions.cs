using System.Globalization;

namespace LlmRouter.ChaosDemo;

/// <summary>The demo's command line: what to simulate, for how long, and where to write the chart.</summary>
internal sealed record ChaosOptions
{
    public int Seed { get; init; } = 42;

    public int Days { get; init; } = 30;

    /// <summary>Gets the mean arrival rate, in requests per minute (Poisson arrivals).</summary>
    public double Rate { get; init; } = 10;

    public Scenario Scenario { get; init; } = Scenario.Mixed;

    public bool Streaming { get; init; }

    public string ChartPath { get; init; } = "chaos-demo.svg";

    /// <summary>Gets the number of router instances of the fleet comparison (2 to 16), or <see langword="null"/> for the simulated month.</summary>
    public int? Fleet { get; init; }

    /// <summary>Gets the Redis configuration string of the fleet comparison; <see langword="null"/>: LLMROUTER_REDIS, else a redis-server started for the run.</summary>
    public string? Redis { get; init; }

    public const string Usage = """
        Usage: dotnet run -c Release --project samples/LlmRouter.ChaosDemo -- [options]

          --seed N          random seed; the same seed gives the same run (default 42)
          --days N          simulated days, 1 to 31 (default 30)
          --rate N          requests per minute, 0.1 to 600 (default 10)
          --scenario NAME   outages | brownouts | ratelimits | mixed | cost (default mixed);
                            cost: multi-turn conversations, prompt caches, a budget; cost per 1,000 requests
          --streaming       stream every response (time to first token, stalls, mid-stream drops)
          --out PATH        where to write the SVG chart (default ./chaos-demo.svg)
          --fleet N         instead: N router instances (2 to 16) over shared providers, on real time, run without
                            and with shared state (Redis fleet mode): calls wasted on a dead provider, probes,
                            rate-limit overshoot; about 25 s per mode (--seed applies, the options above do not)
          --redis CONFIG    with --fleet: the Redis server to use (StackExchange.Redis configuration string;
                            default: $LLMROUTER_REDIS, else a redis-server started on a free loopback port)
          --help            this text
        """;

    /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad one.</summary>
    public static ChaosOptions Parse(string[] args)
    {
        var options = new ChaosOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            options = name switch
            {
                "--seed" => options with { Seed = (int)Number(args, ref i, int.MinValue, int.MaxValue, integer: true) },
                "--days" => options with { Days = (int)Number(args, ref i, 1, 31, integer: true) },
                "--rate" => options with { Rate = Number(args, ref i, 0.1, 600, integer: false) },
                "--scenario" => options with { Scenario = ParseScenario(Value(args, ref i), nameof(args)) },
                "--streaming" => options with { Streaming = true },
                "--out" => options with { ChartPath = Value(args, ref i) },
                "--fleet" => options with { Fleet = (int)Number(args, ref i, 2, 16, integer: true) },
                "--redis" => options with { Redis = Value(args, ref i) },
                _ => throw new ArgumentException($"Unknown argument '{name}'.", nameof(args)),
            };
        }

        if (options.Redis is not null && options.Fleet is null)
        {
            throw new ArgumentException("--redis is used only with --fleet N.", nameof(args));
        }

        return options;
    }

    private static string Value(string[] args, ref int i)
    {
        string name = args[i];
        if (i + 1 >= args.Length || args[i + 1].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException($"{name} needs a value.", nameof(args));
        }

        return args[++i];
    }

    private static double Number(string[] args, ref int i, double min, double max, bool integer)
    {
        string name = args[i];
        string text = Value(args, ref i);
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value) ||
            (integer && value != Math.Floor(value)) || value < min || value > max)
        {
            throw new ArgumentException(
                $"{name} must be {(integer ? "a whole number" : "a number")} between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)} (was '{text}').",
                nameof(args));
        }

        return value;
    }

    private static Scenario ParseScenario(string text, string parameter) => text.ToUpperInvariant() switch
    {
        "OUTAGES" => Scenario.Outages,
        "BROWNOUTS" => Scenario.Brownouts,
        "RATELIMITS" => Scenario.RateLimits,
        "MIXED" => Scenario.Mixed,
        "COST" => Scenario.Cost,
        _ => throw new ArgumentException($"--scenario must be one of outages, brownouts, ratelimits, mixed, cost (was '{text}').", parameter),
    };
}
