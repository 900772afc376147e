using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LlmRouter.Tests.Constraints;

/// <summary>Proactive limits: requests and tokens per minute, concurrency; an endpoint at a limit is passed over.</summary>
public sealed class EndpointLimitsTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(10); // a hang guard in real time, never a wait
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RequestsPerMinute_60_ReceivesAtMost60Of150InTheMinute_NoneFail_AndAgainNextMinute()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(null, (a, e => e.RequestsPerMinute = 60), (b, e => e.InputCostPerMillionTokens = 5));

        var served = new List<string>();
        for (int i = 0; i < 150; i++)
        {
            served.Add((await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Endpoint);
        }

        Assert.Equal(60, a.Calls);
        Assert.Equal(90, b.Calls);
        Assert.Equal(0, RouterDriver.Snapshot(router, "a").RequestsLeftThisMinute);

        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("a", (await router.GetResponseAsync(RouterFactory.Hello(), null, Ct)).GetRoutingInfo()!.Endpoint);
        Assert.Equal(59, RouterDriver.Snapshot(router, "a").RequestsLeftThisMinute);
    }

    [Fact]
    public async Task AllCandidatesAtLimits_WaitsForTheNextMinute_ThenServes()
    {
        var a = new SwitchableChatClient("a");
        using RouterChatClient router = Create(o => o.Constraints.LimitMaxWait = TimeSpan.FromMinutes(2), (a, e => e.RequestsPerMinute = 1));
        _ = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct);

        Task<ChatResponse> waiting = router.GetResponseAsync(RouterFactory.Hello(), null, Ct);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, a.Calls);
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal("a", (await waiting.WaitAsync(Guard, Ct)).GetRoutingInfo()!.Endpoint);
        Assert.Equal(2, a.Calls);
    }

    [Fact]
    public async Task AllCandidatesAtLimits_PastTheWait_ThrowsNamingTheLimits()
    {
        var a = new SwitchableChatClient("a");
        var b = new SwitchableChatClient("b");
        using RouterChatClient router = Create(
            o => o.Constraints.LimitMaxWait = TimeSpan.Zero,
            (a, e => e.RequestsPerMinute = 1),
            (b, e => e.TokensPerMinute = 50));
        _ = await router.GetResponseAsync(RouterFactory.Hello(), null, Ct); // a: its one request
        _ = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { MaxOutputTokens = 40 }, Ct); // b: 15 used of 50

        EndpointLimitsReachedException exception = await Assert.ThrowsAsync<EndpointLimitsReachedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions { MaxOutputTokens = 40 }, Ct));

        Assert.Contains("a excluded by Limit (RequestsPerMinute (1) reached)", exception.Message, StringComparison.Ordinal);
        Assert.Contains("b excluded by Limit (TokensPerMinute (50) reached)", exception.Message, StringComparison.Ordinal);
        Assert.Equal(2, a.Calls + b.Calls);
    }

    [Fact]
    public async Task TokenReservation_HeldWhileInFlight_CorrectedOnSuccess_ReleasedOnFailureAndCancellation()
    {
        var client = new ScriptedChatClient("a");
        using RouterChatClient router = Create(
            o => { o.Retry.MaxRetriesPerEndpoint = 0; o.Health.FailureThreshold = 100; },
            (client, e => e.TokensPerMinute = 1_000));
        var options = new ChatOptions { MaxOutputTokens = 100 };
        long Left() => RouterDriver.Snapshot(router, "a").TokensLeftThisMinute!.Value;

        // Success: the reservation (about 1 + 4 + 100) becomes the reported 15 tokens.
        _ = client.Answers("ok");
        _ = await router.GetResponseAsync(RouterFactory.Hello(), options, Ct);
        Assert.Equal(985, Left());

        // Failure: no usage reported, the reservation is released.
        _ = client.Throws(RouterFactory.Http(503));
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), options, Ct));
        Assert.Equal(985, Left());

        // In flight: reserved; cancelled: released.
        _ = client.Hangs();
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        Task<ChatResponse> hanging = router.GetResponseAsync(RouterFactory.Hello(), options, cancel.Token);
        Assert.InRange(Left(), 870, 885);
        await cancel.CancelAsync();
        _ = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hanging.WaitAsync(Guard, Ct));
        Assert.Equal(985, Left());
    }

    [Fact]
    public async Task MaxConcurrency_HoldsUnder64ConcurrentCallers_NoneFail_AndEverySlotComesBack()
    {
        var a = new CountingGateClient("a");
        var b = new CountingGateClient("b");
        using RouterChatClient router = Create(null, (a, e => e.MaxConcurrency = 4), (b, e => e.InputCostPerMillionTokens = 5));

        Task<ChatResponse>[] calls = [.. Enumerable.Range(0, 64).Select(_ => Task.Run(() => router.GetResponseAsync(RouterFactory.Hello(), null, Ct), Ct))];
        await a.WaitForInFlight(4).WaitAsync(Guard, Ct);
        await b.WaitForInFlight(60).WaitAsync(Guard, Ct);
        Assert.Equal(0, RouterDriver.Snapshot(router, "a").ConcurrencyLeft);
        a.Open();
        b.Open();
        ChatResponse[] responses = await Task.WhenAll(calls).WaitAsync(Guard, Ct);

        Assert.Equal(64, responses.Length);
        Assert.Equal(4, a.MaxInFlight);
        Assert.Equal(4, RouterDriver.Snapshot(router, "a").ConcurrencyLeft);
    }

    [Fact]
    public void LimitsOptions_Invalid_FailAtStartUpNamingTheField()
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"), e => { e.RequestsPerMinute = 0; e.TokensPerMinute = -1; e.MaxConcurrency = 0; })
            .Configure(o => o.Constraints.LimitMaxWait = TimeSpan.FromDays(2)));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException exception = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains(exception.Failures, f => f.StartsWith("Endpoint 'a': RequestsPerMinute must be at least 1", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Endpoint 'a': TokensPerMinute", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Endpoint 'a': MaxConcurrency", StringComparison.Ordinal));
        Assert.Contains(exception.Failures, f => f.StartsWith("Constraints:LimitMaxWait", StringComparison.Ordinal));
    }

    private RouterChatClient Create(Action<LlmRouterOptions>? configure, params (IChatClient Client, Action<EndpointOptions> Configure)[] endpoints) =>
        RouterFactory.Create(_time, configure, null, [.. endpoints.Select(e => (Name(e.Client), e.Client, (Action<EndpointOptions>?)e.Configure))]);

    private static string Name(IChatClient client) => client switch
    {
        SwitchableChatClient s => s.Name,
        ScriptedChatClient s => s.Name,
        CountingGateClient s => s.Name,
        _ => throw new ArgumentException("unknown client", nameof(client)),
    };

    /// <summary>Holds every call until opened; tracks how many run at once.</summary>
    private sealed class CountingGateClient(string name) : IChatClient
    {
        private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Lock _lock = new();
        private readonly List<(int Count, TaskCompletionSource Signal)> _waiters = [];
        private int _inFlight;

        public string Name { get; } = name;

        public int MaxInFlight { get; private set; }

        public void Open() => _gate.TrySetResult();

        public Task WaitForInFlight(int count)
        {
            lock (_lock)
            {
                if (_inFlight >= count)
                {
                    return Task.CompletedTask;
                }

                var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _waiters.Add((count, signal));
                return signal.Task;
            }
        }

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            lock (_lock)
            {
                _inFlight++;
                MaxInFlight = Math.Max(MaxInFlight, _inFlight);
                foreach ((int count, TaskCompletionSource signal) in _waiters.Where(w => _inFlight >= w.Count).ToArray())
                {
                    _ = signal.TrySetResult();
                    _ = _waiters.Remove((count, signal));
                }
            }

            try
            {
                await _gate.Task.WaitAsync(cancellationToken);
                return new ChatResponse(new ChatMessage(ChatRole.Assistant, Name)) { FinishReason = ChatFinishReason.Stop };
            }
            finally
            {
                lock (_lock)
                {
                    _inFlight--;
                }
            }
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
