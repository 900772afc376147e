using LlmRouter.IntegrationTests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.IntegrationTests.Matrix;

/// <summary>
/// Every SDK × every fault, streaming and not: the real SDK talks HTTP to a loopback server that injects the fault; the
/// router in front must classify the failure as DESIGN.md §4 says and retry, fail over, stop or interrupt accordingly.
/// </summary>
/// <remarks>
/// The preferred endpoint is the SDK; the second is an in-process backup with a larger context window that is also a
/// content-filter fallback, so every kind that may move on can. The server's script is the fault, then a good answer,
/// so a retry on the same endpoint succeeds. The SDKs' own retries are off.
/// </remarks>
public sealed class FaultMatrixTests(ProviderServers servers) : IClassFixture<ProviderServers>
{
    private const int TestTimeoutMs = 15_000;

    public static TheoryData<Sdk, Fault, bool> Cases()
    {
        var data = new TheoryData<Sdk, Fault, bool>();
        foreach (Sdk sdk in Enum.GetValues<Sdk>())
        {
            foreach (Fault fault in Enum.GetValues<Fault>())
            {
                foreach (bool streaming in (bool[])[false, true])
                {
                    if (FaultCatalog.For(sdk, fault, streaming) is not null && !Expectations.IsKnownBug(sdk, fault, streaming))
                    {
                        data.Add(sdk, fault, streaming);
                    }
                }
            }
        }

        return data;
    }

    [Theory(Timeout = TestTimeoutMs)]
    [MemberData(nameof(Cases))]
    public async Task Router_OverRealSdk_HandlesFaultAsDesigned(Sdk sdk, Fault fault, bool streaming)
    {
        LoopbackProviderServer server = servers.For(sdk);
        _ = server.Enqueue(FaultCatalog.For(sdk, fault, streaming)!, Reply.Answer("Hel", "lo"));
        var backup = new BackupChatClient();
        await using ServiceProvider provider = RouterHost.Build(
            null,
            ("primary", SdkClients.For(sdk, server), e => e.ContextWindowTokens = 128_000),
            ("backup", backup, e => { e.ContextWindowTokens = 1_000_000; e.IsContentFilterFallback = true; }));
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();
        (FailureKind? kind, Outcome outcome) = Expectations.For(sdk, fault, streaming);

        Observed observed = await RunAsync(router, streaming);

        string because = $"{sdk} {fault} {(streaming ? "streaming" : "non-streaming")}: {observed}";
        Assert.True(observed.Outcome == outcome, $"expected {outcome}, got {because}");
        Assert.True(observed.FirstFailure == kind, $"expected {kind?.ToString() ?? "no failure"}, got {because}");
        (int primaryHits, int backupHits) = outcome switch
        {
            Outcome.Retried => (2, 0),
            Outcome.FailedOver => (1, 1),
            _ => (1, 0),
        };
        Assert.True(server.RequestCount == primaryHits, $"expected {primaryHits} request(s) to the provider, got {server.RequestCount}: {because}");
        Assert.True(backup.Calls == backupHits, $"expected {backupHits} request(s) to the backup, got {backup.Calls}: {because}");
    }

    private static async Task<Observed> RunAsync(RouterChatClient router, bool streaming)
    {
        CancellationToken ct = TestContext.Current.CancellationToken;
        try
        {
            if (!streaming)
            {
                ChatResponse response = await router.GetResponseAsync("hello", cancellationToken: ct);
                return Observed.From(response.GetRoutingInfo()!, response.Text);
            }

            var updates = new List<ChatResponseUpdate>();
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync("hello", cancellationToken: ct))
            {
                updates.Add(update);
            }

            return Observed.From(updates[0].GetRoutingInfo()!, string.Concat(updates.Select(u => u.Text)));
        }
        catch (StreamInterruptedException e)
        {
            Assert.StartsWith("Hel", e.PartialText, StringComparison.Ordinal);
            return new Observed(Outcome.Interrupted, e.Attempts[^1].Failure, e.Attempts[^1].Exception);
        }
        catch (Exception e) when (e is not LlmRouterException and not OperationCanceledException)
        {
            // A bad request ends with the SDK's own exception, as a direct call would. Only BadRequest (and the caller's
            // cancellation, which this test does not do) stops with the backup untried: it takes context-length and
            // content-filter failures too. The hit counts below confirm that nothing else was asked.
            return new Observed(Outcome.Stopped, FailureKind.BadRequest, e);
        }
    }

    private sealed record Observed(Outcome Outcome, FailureKind? FirstFailure, Exception? Exception)
    {
        public static Observed From(RoutingInfo info, string text)
        {
            RoutingAttempt? failed = info.Attempts.FirstOrDefault(a => a.Failure is not null);
            Outcome outcome = failed is null ? Outcome.Served
                : info.Endpoint == "backup" ? Outcome.FailedOver
                : Outcome.Retried;
            Assert.Equal(info.Endpoint == "backup" ? BackupChatClient.Text : "Hello", text);
            return new Observed(outcome, failed?.Failure, failed?.Exception);
        }

        public override string ToString() =>
            $"{Outcome}, {FirstFailure?.ToString() ?? "no failure"}, {Exception?.GetType().Name ?? "no exception"}: {Exception?.Message.Split('\n')[0]}";
    }
}
