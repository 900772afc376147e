namespace LlmRouter;

/// <summary>Orders a request's candidate endpoints: the first serves, the rest are the failover order.</summary>
/// <remarks>Strategies are stateless or thread-safe: one instance serves every request.</remarks>
internal interface IRoutingStrategy
{
    void Order(Span<RouterEndpoint> candidates);
}
