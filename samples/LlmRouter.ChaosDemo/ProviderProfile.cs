namespace LlmRouter.ChaosDemo;

/// <summary>A simulated provider's character: latency (log-normal, heavy tailed), speed and prices.</summary>
/// <param name="Name">Endpoint name.</param>
/// <param name="MedianMs">Median latency of a whole answer (non-streamed), in milliseconds.</param>
/// <param name="Sigma">Log-normal shape: the larger, the heavier the tail.</param>
/// <param name="FirstTokenMs">Median time to first token of a stream, in milliseconds.</param>
/// <param name="InputPrice">Price per million input tokens.</param>
/// <param name="OutputPrice">Price per million output tokens.</param>
/// <param name="CachedInputPrice">Price per million input tokens read from the provider's prompt cache.</param>
internal sealed record ProviderProfile(string Name, double MedianMs, double Sigma, double FirstTokenMs, decimal InputPrice, decimal OutputPrice, decimal CachedInputPrice)
{
    /// <summary>How long a provider keeps a prompt in its cache after its latest use (as OpenAI and Anthropic do, roughly).</summary>
    public static readonly TimeSpan PromptCacheLifetime = TimeSpan.FromMinutes(5);

    public static readonly ProviderProfile[] All =
    [
        new("alpha", MedianMs: 1_200, Sigma: 0.55, FirstTokenMs: 450, InputPrice: 2.50m, OutputPrice: 10m, CachedInputPrice: 1.25m),
        new("bravo", MedianMs: 900, Sigma: 0.45, FirstTokenMs: 350, InputPrice: 3.00m, OutputPrice: 15m, CachedInputPrice: 0.30m),
        new("charlie", MedianMs: 1_800, Sigma: 0.65, FirstTokenMs: 700, InputPrice: 0.50m, OutputPrice: 1.50m, CachedInputPrice: 0.125m),
    ];
}
