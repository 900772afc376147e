using LlmRouter.Simulation;
using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Reliability;

/// <summary>
/// Retry storms as Envoy's retry budget and gRPC's retry throttling are tested: every endpoint failing for ten virtual
/// minutes under steady load must not multiply the load on the providers (attempts ≤ 1.2 × requests), and request errors
/// are never retried on the same endpoint.
/// </summary>
[Collection(IsolatedReliabilityDefinition.Name)]
public sealed class RetryStormTests
{
    private const double MaxAttemptsPerRequest = 1.2;


    [Theory]
    [InlineData("429 everywhere (defaults)")]
    public Task Storm_EveryEndpointFailingTenVirtualMinutes_AttemptsAtMostOnePointTwoTimesRequests_Spent(string storm) => StormAsync(storm);

    [Theory]
    [InlineData("500 with breakers, no all-open wait")]
    [InlineData("503 for 10 minutes, 100/s, no all-open wait")]
    public Task Storm_EveryEndpointFailingTenVirtualMinutes_AttemptsAtMostOnePointTwoTimesRequests(string storm) => StormAsync(storm);

    [Theory]
    [InlineData("500 with breakers (defaults)")]
    [InlineData("503 for 10 minutes, 100/s (defaults)")]
    [InlineData("503 with breakers held closed")] // "closed" for 1,000 failures: past them, every endpoint opens
    [InlineData("500 with breakers, probing early when all are open")]
    [InlineData("503 for 10 minutes, 100/s, probing early when all are open")]
    [InlineData("500 with breakers, waiting for recovery after failures")]
    [InlineData("503 for 10 minutes, 100/s, probing early and waiting for recovery after failures")]
    public Task Storm_EveryEndpointFailingTenVirtualMinutes_WaitingForRecovery_Completes_AttemptsAtMostOnePointTwoTimesRequests(string storm) => StormAsync(storm);

    private static async Task StormAsync(string storm)
    {
        var time = new VirtualTimeProvider();
        int status = storm.StartsWith("429", StringComparison.Ordinal) ? 429 : storm.StartsWith("503", StringComparison.Ordinal) ? 503 : 500;
        bool breakersClosed = storm.Contains("held closed", StringComparison.Ordinal);
        double perSecond = storm.Contains("100/s", StringComparison.Ordinal) ? 100 : 10;
        FailingClient[] clients = [new("a", time, status), new("b", time, status), new("c", time, status)];
        using RouterChatClient router = RouterFactory.Create(
            time,
            o =>
            {
                o.Randomizer = SeededRandom.Create(7);
                if (storm.Contains("no all-open wait", StringComparison.Ordinal))
                {
                    o.Health.AllOpenMaxWait = TimeSpan.Zero;
                }
                o.Health.ProbeEarlyWhenAllOpen = storm.Contains("probing early", StringComparison.Ordinal);
                o.Health.WaitForRecoveryAfterFailures = storm.Contains("waiting for recovery after failures", StringComparison.Ordinal);
                if (breakersClosed)
                {
                    o.Health.FailureThreshold = 1000;
                }
            },
            null,
            [.. clients.Select(c => (c.Name, (IChatClient)c, (Action<EndpointOptions>?)null))]);

        int requests = (int)(perSecond * 600); // ten virtual minutes of steady load
        int failed = 0;
        var unexpected = new List<Exception>();
        await VirtualLoad.RunAsync(time, requests, _ => TimeSpan.FromSeconds(1 / perSecond), async index =>
        {
            try
            {
                _ = await router.GetResponseAsync(RouterFactory.Hello()).ConfigureAwait(false);
            }
            catch (Exception e) when (e is AllEndpointsFailedException or NoEndpointAvailableException)
            {
                _ = Interlocked.Increment(ref failed);
            }
            catch (Exception e)
            {
                lock (unexpected)
                {
                    unexpected.Add(e);
                }
            }
        }).WaitAsync(TimeSpan.FromMinutes(1), TestContext.Current.CancellationToken);

        long attempts = clients.Sum(c => c.Calls);
        double ratio = attempts / (double)requests;
        ReliabilityScale.Report($"{storm}: {requests} requests, {attempts} upstream attempts = {ratio:0.000} × requests (required ≤ {MaxAttemptsPerRequest}, aim 1.1)");
        Assert.Empty(unexpected);
        Assert.Equal(requests, failed);
        Assert.True(ratio <= MaxAttemptsPerRequest, $"{storm}: {attempts} attempts for {requests} requests = {ratio:0.000}× > {MaxAttemptsPerRequest}×");
    }

    [Theory]
    [InlineData(400)]
    [InlineData(422)]
    [InlineData(401)]
    [InlineData(403)]
    [InlineData(404)]
    public async Task RequestAndAuthErrors_AreNeverRetriedOnTheSameEndpoint_EvenWithRetriesAllowed(int status)
    {
        var time = new ObservableFakeTimeProvider();
        var a = new ScriptedChatClient("a").Throws(RouterFactory.Http(status), always: true);
        var b = new ScriptedChatClient("b").Throws(RouterFactory.Http(status), always: true);
        var c = new ScriptedChatClient("c").Throws(RouterFactory.Http(status), always: true);
        using RouterChatClient router = RouterFactory.Create(
            time,
            o =>
            {
                o.Strategy = RoutingStrategy.Ordered;
                o.Retry.MaxRetriesPerEndpoint = 10;
                o.Retry.MaxAttempts = 100;
                o.Retry.BudgetMinPerSecond = 10_000;
            },
            a, b, c);

        Exception error = await Assert.ThrowsAnyAsync<Exception>(() => router.GetResponseAsync(RouterFactory.Hello(), cancellationToken: TestContext.Current.CancellationToken));

        Assert.All(new[] { a, b, c }, client => Assert.InRange(client.Calls, 0, 1));
        if (status is 400 or 422)
        {
            // BadRequest: no retry and no failover; the provider's own exception, as from a direct call.
            Assert.Equal((1, 0, 0), (a.Calls, b.Calls, c.Calls));
            Assert.IsType<HttpRequestException>(error);
        }
        else
        {
            // Auth: no retry on the same endpoint, failover to each other endpoint once.
            Assert.Equal((1, 1, 1), (a.Calls, b.Calls, c.Calls));
            AllEndpointsFailedException all = Assert.IsType<AllEndpointsFailedException>(error);
            Assert.Equal(["a", "b", "c"], all.Attempts.Select(x => x.Endpoint));
        }
    }

    /// <summary>An endpoint that fails every call after 20 ms of virtual time.</summary>
    private sealed class FailingClient(string name, TimeProvider time, int status) : IChatClient
    {
        private int _calls;

        public string Name { get; } = name;

        public int Calls => Volatile.Read(ref _calls);

        public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            _ = Interlocked.Increment(ref _calls);
            await Task.Delay(TimeSpan.FromMilliseconds(20), time, cancellationToken).ConfigureAwait(false);
            throw RouterFactory.Http(status);
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
