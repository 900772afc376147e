using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Caching;

/// <summary>Tenants are partitions of the cache: identical prompts from different tenants never share an answer.</summary>
public sealed class TenantIsolationTests
{
    private const int Tenants = 50;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ChatOptions ForTenant(int tenant) => new ChatOptions().WithRouting(h => h.Tenant = $"tenant-{tenant}");

    [Fact]
    public async Task FiftyTenants_IdenticalPrompts_EachCallsUpstreamOnce_AndRepeatsHitTheirOwnAnswer()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));
        var answers = new string[Tenants];

        for (int t = 0; t < Tenants; t++)
        {
            ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), ForTenant(t), Ct);
            Assert.Equal(CacheResult.Miss, response.GetRoutingInfo()!.Cache); // never another tenant's entry
            answers[t] = response.Text;
        }

        Assert.Equal(Tenants, a.Calls);
        Assert.Equal(Tenants, answers.Distinct(StringComparer.Ordinal).Count());

        for (int t = Tenants - 1; t >= 0; t--)
        {
            ChatResponse repeat = await router.GetResponseAsync(RouterFactory.Hello(), ForTenant(t), Ct);
            Assert.Equal(CacheResult.Hit, repeat.GetRoutingInfo()!.Cache);
            Assert.Equal(answers[t], repeat.Text);
        }

        Assert.Equal(Tenants, a.Calls);
        Assert.Equal(Tenants, router.Cache.MemoryUsage.Entries);
    }

    [Fact]
    public async Task FiftyTenants_Concurrently_AreNotCoalescedAcrossTenants()
    {
        var a = new CountingChatClient("a");
        a.Hold();
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        Task<ChatResponse>[] requests = [.. Enumerable.Range(0, Tenants).Select(t => router.GetResponseAsync(RouterFactory.Hello(), ForTenant(t), Ct))];
        Assert.True(await CacheRouter.EventuallyAsync(() => a.Entered == Tenants, TimeSpan.FromSeconds(10)), $"{a.Entered} call(s) reached the endpoint");
        a.Release();
        ChatResponse[] responses = await Task.WhenAll(requests);

        Assert.Equal(Tenants, a.Calls);
        Assert.All(responses, r => Assert.Equal(CacheResult.Miss, r.GetRoutingInfo()!.Cache));
        Assert.Equal(Tenants, responses.Select(r => r.Text).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task SharedPartition_DoesNotReadATenantsEntry_NorATenantTheShared()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        ChatResponse tenant = await router.GetResponseAsync(RouterFactory.Hello(), ForTenant(1), Ct);
        ChatResponse shared = await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions(), Ct);
        ChatResponse other = await router.GetResponseAsync(RouterFactory.Hello(), ForTenant(2), Ct);

        Assert.Equal(CacheResult.Miss, shared.GetRoutingInfo()!.Cache);
        Assert.Equal(CacheResult.Miss, other.GetRoutingInfo()!.Cache);
        Assert.Equal(3, a.Calls);
        Assert.Equal(tenant.Text, (await router.GetResponseAsync(RouterFactory.Hello(), ForTenant(1), Ct)).Text);
        Assert.Equal(shared.Text, (await router.GetResponseAsync(RouterFactory.Hello(), new ChatOptions(), Ct)).Text);
        Assert.Equal(3, a.Calls);
    }

    [Fact]
    public async Task TenantStreams_AreIsolatedToo()
    {
        var a = new CountingChatClient("a");
        using RouterChatClient router = CacheRouter.Create(new ObservableFakeTimeProvider(), null, ("a", a));

        string one = await StreamText(router, ForTenant(1));
        string two = await StreamText(router, ForTenant(2));

        Assert.NotEqual(one, two);
        Assert.Equal(2, a.Calls);
        Assert.Equal(one, await StreamText(router, ForTenant(1)));
        Assert.Equal(two, await StreamText(router, ForTenant(2)));
        Assert.Equal(2, a.Calls);

        static async Task<string> StreamText(RouterChatClient router, ChatOptions options)
        {
            List<ChatResponseUpdate> updates = [];
            await foreach (ChatResponseUpdate update in router.GetStreamingResponseAsync(RouterFactory.Hello(), options, Ct))
            {
                updates.Add(update);
            }

            return updates.ToChatResponse().Text;
        }
    }
}
