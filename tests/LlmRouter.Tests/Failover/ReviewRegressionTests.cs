using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using static LlmRouter.Tests.TestSupport.ScriptedChatClient;

namespace LlmRouter.Tests.Failover;

/// <summary>Defects found in review, each pinned by the test that would have caught it.</summary>
public sealed class ReviewRegressionTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task Stream_CallerSlowerThanTheAttemptTimeout_IsNotBlamedOnTheEndpoint()
    {
        var a = new ScriptedChatClient("a").Streams("Hel", "lo", "!");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.AttemptTimeout = TimeSpan.FromSeconds(7), a);
        var received = new List<string>();

        await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken))
        {
            received.Add(update.Text);
            _time.Advance(TimeSpan.FromSeconds(8)); // the caller takes longer than the timeout with each update
        }

        Assert.Equal("Hello!", string.Concat(received));
        router.RefreshSnapshots();
        Assert.Equal(0, router.GetSnapshot()[0].FailureCount(FailureKind.Timeout));
    }

    [Fact]
    public async Task Classifier_Throwing_FallsThroughAndLeaksNoInFlightAttempt()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(500));
        var b = new ScriptedChatClient("b").Answers("from b");
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Retry.MaxRetriesPerEndpoint = 0, [new ThrowingClassifier()], ("a", a, null), ("b", b, null));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("from b", response.Text);
        Assert.Equal(FailureKind.Transient, response.GetRoutingInfo()!.Attempts[0].Failure);
        Assert.All(router.Endpoints, e => Assert.Equal(0, e.Metrics.InFlight));
    }

    [Fact]
    public async Task Retry_MaxRetryAfterZero_StillRetriesTransientFailuresWithBackoff()
    {
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(503)).Answers("second try");
        using RouterChatClient router = RouterFactory.Create(_time, o => o.Retry.MaxRetryAfter = TimeSpan.Zero, a);
        Task backoff = _time.WhenTimerCreated(TimeSpan.FromMilliseconds(100));

        Task<ChatResponse> call = router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);
        await backoff;
        _time.Advance(TimeSpan.FromMilliseconds(100));

        Assert.Equal("second try", (await call).Text);
    }

    [Fact]
    public async Task ContentFilter_RefusedAndEveryFallbackFails_ReturnsTheRefusalRatherThanThrowing()
    {
        var a = new ScriptedChatClient("a").Then(ScriptStep.Answer("I can't help with that") with { FinishReason = ChatFinishReason.ContentFilter });
        var b = new ScriptedChatClient("b").Throws(RouterFactory.Http(401));
        using RouterChatClient router = RouterFactory.Create(_time, null, null, ("a", a, null), ("b", b, e => e.IsContentFilterFallback = true));

        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal("I can't help with that", response.Text);
        RoutingInfo info = response.GetRoutingInfo()!;
        Assert.Equal("a", info.Endpoint);
        Assert.Equal([FailureKind.ContentFilter, FailureKind.Auth], info.Attempts.Select(x => x.Failure!.Value));
    }

    [Fact]
    public async Task Stream_CanceledAfterAProbePassedItsGate_DoesNotReleaseAnotherRequestsProbe()
    {
        var a = new ScriptedChatClient("a")
            .Throws(RouterFactory.Http(401))
            .Then(ScriptStep.Stream("Hel", "lo") with { HangAfterChunks = 1 });
        using RouterChatClient router = RouterFactory.Create(
            _time, o => o.Health.AuthFailureCooldown = TimeSpan.FromSeconds(10), a);
        _ = await Assert.ThrowsAsync<AllEndpointsFailedException>(
            () => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken));
        _time.Advance(TimeSpan.FromSeconds(10));
        RouterEndpoint endpoint = router.Endpoints[0];

        using var cts = new CancellationTokenSource();
        await using (IAsyncEnumerator<ChatResponseUpdate> stream = router.GetStreamingResponseAsync(RouterFactory.Hello(), cancellationToken: cts.Token).GetAsyncEnumerator(cts.Token))
        {
            Assert.True(await stream.MoveNextAsync()); // the probe passed its gate: healthy again
            Assert.Equal(HealthState.Healthy, endpoint.Health.StateAt(_time.GetTimestamp()));

            // Meanwhile the endpoint opens again and another request takes the new probe.
            _ = endpoint.Health.OnFailure(_time.GetTimestamp(), FailureKind.Auth, Admission.Admitted, new HealthOptions { AuthFailureCooldown = TimeSpan.FromSeconds(1) }, 0.5, _time.TimestampFrequency);
            _time.Advance(TimeSpan.FromSeconds(1));
            Assert.Equal(Admission.Probe, endpoint.Health.TryAdmit(_time.GetTimestamp()));

            ValueTask<bool> next = stream.MoveNextAsync();
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await next);
        }

        Assert.True(endpoint.Health.ProbeInFlight); // still the other request's
        Assert.Equal(Admission.Rejected, endpoint.Health.TryAdmit(_time.GetTimestamp()));
    }

    private sealed class ThrowingClassifier : IFailureClassifier
    {
        public FailureClassification? Classify(Exception exception) => throw new InvalidOperationException("classifier bug");
    }
}
