using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmRouter.Benchmarks;

/// <summary>Choosing an endpoint: filter, score every candidate from its snapshot, health pass, ordered plan.</summary>
/// <remarks>
/// <see cref="ChooseEndpoint"/> repeats one request against unchanging snapshots, so the selector hands out its latest
/// decision again (nothing it says changed); <see cref="ChooseEndpointNewDecision"/> alternates two prompts of different
/// lengths, so that under a scoring strategy every decision differs from the latest (the estimated costs change) and is
/// built anew, as it is for most real requests.
/// </remarks>
[MemoryDiagnoser]
public class SelectionBenchmarks
{
    private readonly List<ChatMessage> _messages = [new(ChatRole.User, "Summarise the following paragraph in one sentence, please.")];
    private readonly List<ChatMessage> _longerMessages = [new(ChatRole.User, "Summarise the following two paragraphs in one sentence each, please.")];
    private int _calls;
    private CandidateSelector _selector = null!;

    [Params(2, 8, 32)]
    public int Endpoints { get; set; }

    [Params(RoutingStrategy.Score, RoutingStrategy.Ordered)]
    public RoutingStrategy Strategy { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new LlmRouterOptions();
        var runtime = new RouterRuntime(options, TimeProvider.System, new FailureClassifierChain([], TimeProvider.System), NullLogger.Instance);
        var random = new Random(3);
        long now = TimeProvider.System.GetTimestamp();
        var endpoints = new RouterEndpoint[Endpoints];
        for (int i = 0; i < endpoints.Length; i++)
        {
            var endpointOptions = new EndpointOptions { InputCostPerMillionTokens = 1 + i, OutputCostPerMillionTokens = 4 + i };
            options.Endpoints[$"e{i}"] = endpointOptions;
            endpoints[i] = new RouterEndpoint($"e{i}", new InstantChatClient(1), endpointOptions, i, ownsClient: false);
            for (int s = 0; s < 200; s++)
            {
                endpoints[i].Metrics.Record(new AttemptSample { Timestamp = now, LatencyMs = (float)(100 + (random.NextDouble() * 400)), TimeToFirstTokenMs = float.NaN, OutputTokens = 200 });
            }

            _ = endpoints[i].Metrics.Build($"e{i}", now, DateTimeOffset.UtcNow, HealthState.Healthy, options.Metrics, TimeProvider.System.TimestampFrequency);
        }

        var strategies = new RoutingStrategies(runtime, null);
        IRoutingStrategy strategy = strategies.For(Strategy);
        _selector = new CandidateSelector(endpoints, runtime, () => strategy);
    }

    [Benchmark]
    public int ChooseEndpoint()
    {
        ValueTask<RoutedRequest> request = _selector.SelectAsync(_messages, null, streaming: false, CancellationToken.None);
        return request.IsCompletedSuccessfully ? request.Result.Candidates.Length : -1;
    }

    [Benchmark]
    public int ChooseEndpointNewDecision()
    {
        List<ChatMessage> messages = (++_calls & 1) == 0 ? _messages : _longerMessages;
        ValueTask<RoutedRequest> request = _selector.SelectAsync(messages, null, streaming: false, CancellationToken.None);
        return request.IsCompletedSuccessfully ? request.Result.Candidates.Length : -1;
    }
}
