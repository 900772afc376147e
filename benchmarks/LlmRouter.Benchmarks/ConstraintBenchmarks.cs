using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;

namespace LlmRouter.Benchmarks;

/// <summary>
/// The constraint filter's cost per request at 8 endpoints: with no hints, with a region and data-policy restriction
/// and tools, and with every endpoint carrying rate, token and concurrency limits; an attempt's limit lease; and the
/// limit checks of a request followed by its attempt's lease, as every routed request does.
/// </summary>
/// <remarks>
/// The request limit is <see cref="int.MaxValue"/> a minute so that no run, however fast, uses up its window: a lease
/// refused at the limit would be measured instead of one taken.
/// </remarks>
[MemoryDiagnoser]
public class ConstraintBenchmarks
{
    private readonly List<ChatMessage> _messages = [new(ChatRole.User, "Summarise the following paragraph in one sentence, please.")];
    private ConstraintFilter _plain = null!;
    private ConstraintFilter _limited = null!;
    private RouterEndpoint[] _plainEndpoints = null!;
    private RouterEndpoint[] _limitedEndpoints = null!;
    private ChatOptions _restricted = null!;
    private RoutingHints _hints = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_plain, _plainEndpoints) = Build(limits: false);
        (_limited, _limitedEndpoints) = Build(limits: true);
        _restricted = new ChatOptions { Tools = [AIFunctionFactory.Create(() => 1, "one")] }
            .WithRouting(r => { r.AllowedRegions = ["eu"]; r.RequireZeroDataRetention = true; r.MaxInputCostPerMillionTokens = 100; });
        _hints = _restricted.GetRoutingHints()!;
    }

    [Benchmark(Baseline = true)]
    public int NoHints() => _plain.Apply(_plainEndpoints, _messages, null, null).Candidates.Length;

    [Benchmark]
    public int RegionDataPolicyPriceAndTools() => _plain.Apply(_plainEndpoints, _messages, _restricted, _hints).Candidates.Length;

    [Benchmark]
    public int LimitChecksOnEveryEndpoint() => _limited.Apply(_limitedEndpoints, _messages, null, null).Candidates.Length;

    [Benchmark]
    public int LimitChecksThenAttemptLease()
    {
        RouterEndpoint[] candidates = _limited.Apply(_limitedEndpoints, _messages, null, null).Candidates;
        LimitLease? lease = candidates[0].Limits!.TryAcquire(100);
        lease?.Return(null);
        return candidates.Length + (lease is null ? 0 : 1);
    }

    [Benchmark]
    public int AttemptLease()
    {
        EndpointLimits limits = _limitedEndpoints[0].Limits!;
        LimitLease? lease = limits.TryAcquire(100);
        lease?.Return(null);
        return lease is null ? 0 : 1;
    }

    private static (ConstraintFilter Filter, RouterEndpoint[] Endpoints) Build(bool limits)
    {
        var options = new LlmRouterOptions();
        var runtime = new RouterRuntime(options, TimeProvider.System, new FailureClassifierChain([], TimeProvider.System), NullLogger.Instance);
        var endpoints = new RouterEndpoint[8];
        for (int i = 0; i < endpoints.Length; i++)
        {
            var endpointOptions = new EndpointOptions
            {
                InputCostPerMillionTokens = 1 + i,
                Region = i % 2 == 0 ? "eu-west" : "eu",
                ZeroDataRetention = true,
                RequestsPerMinute = limits ? int.MaxValue : null,
                TokensPerMinute = limits ? 1_000_000_000 : null,
                MaxConcurrency = limits ? 1_000 : null,
            };
            options.Endpoints[$"e{i}"] = endpointOptions;
            endpoints[i] = new RouterEndpoint($"e{i}", new InstantChatClient(1), endpointOptions, i, ownsClient: false);
        }

        var filter = new ConstraintFilter(runtime, endpoints);

        // The filter reads the limits from the options on first use; the lease alone must not find them unset.
        foreach (RouterEndpoint endpoint in endpoints)
        {
            endpoint.Limits!.Configure(endpoint.Options);
        }

        return (filter, endpoints);
    }
}
