using System.Globalization;
using LlmRouter.Simulation;
using Microsoft.Extensions.AI;

namespace LlmRouter.Benchmarks.Simulation;

/// <summary>
/// Hedged against unhedged latency on simulated time: a primary that answers in 100 ms 95% of the time and in 5 s
/// otherwise, a healthy secondary at 120–150 ms, 2,000 requests one after another (one a second), for plain and
/// streamed calls. Prints one table row per configuration.
/// </summary>
internal static class HedgingSimulation
{
    private const int Requests = 2_000;

    public static void Run(int seed)
    {
        Console.WriteLine($"Hedging simulation: {Requests:N0} sequential requests, primary 100 ms (95%) / 5 s (5%), secondary 120-150 ms, seed {seed}.");
        Console.WriteLine();
        Console.WriteLine("| Calls | Hedging | P50 | P95 | P99 | Max | Hedges started | Upstream calls |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (bool streaming in new[] { false, true })
        {
            Row(seed, streaming, "off", null);
            Row(seed, streaming, "fixed 200 ms", o => { o.Hedging.Enabled = true; o.Hedging.Delay = TimeSpan.FromMilliseconds(200); });
            Row(seed, streaming, "adaptive (p95)", o => o.Hedging.Enabled = true);
        }
    }

    private static void Row(int seed, bool streaming, string label, Action<LlmRouterOptions>? configure)
    {
        var time = new VirtualTimeProvider();
        var random = new Random(seed);
        var primary = new SimulatedChatClient(time, () => TimeSpan.FromMilliseconds(random.NextDouble() < 0.95 ? 100 : 5_000));
        var secondary = new SimulatedChatClient(time, () => TimeSpan.FromMilliseconds(120 + (30 * random.NextDouble())));
        var options = new LlmRouterOptions { Strategy = RoutingStrategy.Ordered, Randomizer = new Random(seed + 1).NextDouble };
        configure?.Invoke(options);
        var endpoints = new List<RouterEndpoint>();
        foreach ((string name, IChatClient client) in new[] { ("primary", (IChatClient)primary), ("secondary", secondary) })
        {
            var endpointOptions = new EndpointOptions { Priority = endpoints.Count };
            options.Endpoints[name] = endpointOptions;
            endpoints.Add(new RouterEndpoint(name, client, endpointOptions, endpoints.Count, ownsClient: false));
        }

        using var router = new RouterChatClient(endpoints, options, time);
        var latencies = new double[Requests];
        int hedges = 0;
        List<ChatMessage> messages = [new(ChatRole.User, "hello")];
        for (int i = 0; i < Requests; i++)
        {
            long start = time.GetTimestamp();
            Task<RoutingInfo?> call = streaming ? StreamAsync(router, messages) : AskAsync(router, messages);
            time.RunUntil(call);
            RoutingInfo info = call.GetAwaiter().GetResult() ?? throw new InvalidOperationException("No routing info.");
            latencies[i] = time.GetElapsedTime(start).TotalMilliseconds;

            hedges += info.Attempts.Count(a => a.IsHedge);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        Array.Sort(latencies);
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"| {(streaming ? "stream (to last update)" : "plain")} | {label} | {At(latencies, 0.50):N0} ms | {At(latencies, 0.95):N0} ms | {At(latencies, 0.99):N0} ms | {latencies[^1]:N0} ms | {hedges} ({100.0 * hedges / Requests:0.0}%) | {primary.Calls + secondary.Calls:N0} |"));
    }

    private static async Task<RoutingInfo?> AskAsync(RouterChatClient router, List<ChatMessage> messages) =>
        (await router.GetResponseAsync(messages).ConfigureAwait(false)).GetRoutingInfo();

    private static async Task<RoutingInfo?> StreamAsync(RouterChatClient router, List<ChatMessage> messages)
    {
        RoutingInfo? info = null;
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(messages).ConfigureAwait(false))
        {
            info ??= update.GetRoutingInfo();
        }

        return info;
    }

    private static double At(double[] sorted, double quantile) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
}
