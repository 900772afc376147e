using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>Drives a router with sequential requests and tallies where they went.</summary>
internal static class RouterDriver
{
    /// <summary>Sends one request after rebuilding the snapshots, so that the decision sees every earlier attempt.</summary>
    public static async Task<RoutingInfo> SendAsync(RouterChatClient router, ChatOptions? options = null)
    {
        router.RefreshSnapshots();
        ChatResponse response = await router.GetResponseAsync(RouterFactory.Hello(), options, TestContext.Current.CancellationToken);
        return response.GetRoutingInfo() ?? throw new InvalidOperationException("The response carries no routing info.");
    }

    /// <summary>Sends <paramref name="count"/> requests one after another (see <see cref="SendAsync"/>).</summary>
    public static async Task<List<RoutingInfo>> SendManyAsync(RouterChatClient router, int count, ChatOptions? options = null)
    {
        var infos = new List<RoutingInfo>(count);
        for (int i = 0; i < count; i++)
        {
            infos.Add(await SendAsync(router, options));
        }

        return infos;
    }

    /// <summary>The endpoint each request tried first.</summary>
    public static string FirstChoice(RoutingInfo info) => info.Attempts[0].Endpoint;

    /// <summary>How many requests tried <paramref name="endpoint"/> first.</summary>
    public static int FirstChoices(IEnumerable<RoutingInfo> infos, string endpoint) =>
        infos.Count(i => string.Equals(FirstChoice(i), endpoint, StringComparison.Ordinal));

    /// <summary>The live health state of one endpoint, as <see cref="RouterChatClient.GetSnapshot"/> reports it.</summary>
    public static EndpointSnapshot Snapshot(RouterChatClient router, string endpoint) =>
        router.GetSnapshot().Single(s => string.Equals(s.Endpoint, endpoint, StringComparison.Ordinal));
}
