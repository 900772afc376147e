using LlmRouter.Simulation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.ChaosDemo;

/// <summary>
/// Runs the request stream of one scenario through one system on simulated time: Poisson arrivals, concurrent requests,
/// every provider misbehaving on its schedule. The same seed gives every system the same arrivals and the same faults.
/// </summary>
internal static class SimulationRun
{
    private static readonly string[] Prompts = [.. Enumerable.Range(0, 16).Select(static i => new string('x', 800 + (i * 480)))];

    public static RunResult Run(SystemKind system, ChaosOptions options, IReadOnlyList<List<FaultWindow>> faults, Action<double> progress)
    {
        var time = new VirtualTimeProvider();
        SimulatedProvider[] providers =
        [
            .. ProviderProfile.All.Select((profile, i) =>
                new SimulatedProvider(profile, faults[i], time, unchecked((options.Seed * 31) + i + 1), drops: options.Scenario == Scenario.Mixed)),
        ];

        using ServiceProvider? services = system is SystemKind.LlmRouter or SystemKind.LlmRouterHedged ? BuildRouter(time, providers, system) : null;
        using IChatClient client = system switch
        {
            SystemKind.Direct => new NonDisposing(providers[0]),
            SystemKind.MeaiOrderedFailover => new OrderedFailoverChatClient([.. providers], leaveOpen: true),
            _ => new NonDisposing(services!.GetRequiredService<IChatClient>()),
        };

        var arrivals = new Random(options.Seed);
        double totalSeconds = TimeSpan.FromDays(options.Days).TotalSeconds;
        double meanGap = 60.0 / options.Rate;
        var records = new List<RequestRecord>((int)(totalSeconds / meanGap * 1.05));

        async Task OneAsync(int index, double startSeconds)
        {
            List<ChatMessage> messages = [new(ChatRole.User, Prompts[index % Prompts.Length])];
            long start = time.GetTimestamp();
            bool succeeded = false;
            try
            {
                if (options.Streaming)
                {
                    await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(messages).ConfigureAwait(false))
                    {
                        _ = update;
                    }
                }
                else
                {
                    _ = await client.GetResponseAsync(messages).ConfigureAwait(false);
                }

                succeeded = true;
            }
#pragma warning disable CA1031 // Every failure is an outcome to count, whatever its type.
            catch (Exception)
#pragma warning restore CA1031
            {
            }

            lock (records)
            {
                records.Add(new RequestRecord(startSeconds, (float)time.GetElapsedTime(start).TotalMilliseconds, succeeded));
            }
        }

        PoissonArrivals.Run(time, arrivals, meanGap, totalSeconds, progress, OneAsync);
        records.Sort(static (a, b) => a.StartSeconds.CompareTo(b.StartSeconds));
        return new RunResult(system, records, providers.Sum(static p => p.Calls), providers.Sum(static p => p.Cost), [.. providers.Select(static p => p.Calls)]);
    }

    private static ServiceProvider BuildRouter(VirtualTimeProvider time, SimulatedProvider[] providers, SystemKind system) =>
        DemoRouter.Build(time, providers, options => options.Hedging.Enabled = system == SystemKind.LlmRouterHedged);

    /// <summary>Keeps a shared client alive when the system's wrapper is disposed: the run or the container owns it.</summary>
    private sealed class NonDisposing(IChatClient inner) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            inner.GetResponseAsync(messages, options, cancellationToken);

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            inner.GetStreamingResponseAsync(messages, options, cancellationToken);

        public object? GetService(Type serviceType, object? serviceKey = null) => inner.GetService(serviceType, serviceKey);

        public void Dispose()
        {
        }
    }
}
