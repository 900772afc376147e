using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Health;

/// <summary>
/// Health:ProbeTimeout: a half-open probe to a provider that accepts the call and never answers gives up after the
/// probe timeout, not the attempt timeout, and the endpoint opens again; ordinary attempts keep their own timeouts.
/// </summary>
public sealed class ProbeTimeoutTests
{
    private static readonly TimeSpan Break = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);
    private readonly ObservableFakeTimeProvider _time = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task HungProbe_GivesUpAtTheProbeTimeout_AndTheEndpointOpensAgain()
    {
        // Call 1 fails (the endpoint opens), call 2 (the probe) never answers.
        var a = new DelayedChatClient("a", _time, n => n == 1 ? TimeSpan.Zero : TimeSpan.FromHours(1)) { Failure = n => n == 1 ? RouterFactory.Http(503) : null };
        using RouterChatClient router = Create(a);
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct));
        Assert.Equal(HealthState.Open, router.GetSnapshot()[0].Health);

        _time.Advance(Break);
        Task armed = _time.WhenTimerCreated(ProbeTimeout);
        Task<ChatResponse> probe = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        await armed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        _time.Advance(ProbeTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(probe.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        AllEndpointsFailedException error = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => probe.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(FailureKind.Timeout, Assert.Single(error.Attempts).Failure);
        Assert.Equal(HealthState.Open, router.GetSnapshot()[0].Health); // a failed probe: open again, with a longer break
        Assert.Equal(1, a.Cancellations);
    }

    [Fact]
    public async Task HungStreamedProbe_GivesUpAtTheProbeTimeout()
    {
        var a = new DelayedChatClient("a", _time, n => n == 1 ? TimeSpan.Zero : TimeSpan.FromHours(1)) { Failure = n => n == 1 ? RouterFactory.Http(503) : null };
        using RouterChatClient router = Create(a);
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct));

        _time.Advance(Break);
        Task armed = _time.WhenTimerCreated(ProbeTimeout);
        Task<List<ChatResponseUpdate>> probe = Collect(router);
        await armed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        _time.Advance(ProbeTimeout);

        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(() => probe.WaitAsync(TimeSpan.FromSeconds(10), Ct));
        Assert.Equal(HealthState.Open, router.GetSnapshot()[0].Health);
    }

    [Fact]
    public async Task OrdinaryAttempt_LongerThanTheProbeTimeout_IsNotCutShort()
    {
        var a = new DelayedChatClient("a", _time, _ => TimeSpan.FromSeconds(5));
        using RouterChatClient router = Create(a);

        Task armed = _time.WhenTimerCreated(TimeSpan.FromSeconds(5));
        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: Ct);
        await armed.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        _time.Advance(TimeSpan.FromSeconds(5));

        ChatResponse response = await call.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        Assert.Equal("a", response.Text);
        Assert.DoesNotContain(ProbeTimeout, _time.TimersCreated);
    }

    [Theory]
    [InlineData("00:00:00")]
    [InlineData("-00:00:01")]
    [InlineData("2.00:00:00")]
    public void ProbeTimeout_OutOfRange_FailsAtStartUpNamingIt(string value)
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", new ScriptedChatClient("a").Answers("ok", always: true))
            .Configure(o => o.Health.ProbeTimeout = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<RouterChatClient>());
        Assert.Contains("Health:ProbeTimeout", error.Message, StringComparison.Ordinal);
    }

    private RouterChatClient Create(DelayedChatClient a) =>
        RouterFactory.Create(
            _time,
            o =>
            {
                o.Health.FailureThreshold = 1;
                o.Health.BreakDuration = Break;
                o.Health.BreakJitter = 0;
                o.Health.ProbeTimeout = ProbeTimeout;
                o.Health.AllOpenMaxWait = TimeSpan.Zero;
                o.Retry.MaxRetriesPerEndpoint = 0;
            },
            null,
            ("a", a, null));

    private static async Task<List<ChatResponseUpdate>> Collect(RouterChatClient router)
    {
        var updates = new List<ChatResponseUpdate>();
        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: Ct))
        {
            updates.Add(update);
        }

        return updates;
    }
}
