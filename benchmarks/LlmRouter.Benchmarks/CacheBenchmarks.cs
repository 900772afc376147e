using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace LlmRouter.Benchmarks;

/// <summary>
/// A cache hit through the router against Microsoft.Extensions.AI's <see cref="DistributedCachingChatClient"/> over
/// <see cref="MemoryDistributedCache"/>, for a short and a long prompt; and the cost of the key alone.
/// </summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    private List<ChatMessage> _messages = null!;
    private ChatOptions _options = null!;
    private RouterChatClient _router = null!;
    private DistributedCachingChatClient _meai = null!;

    [Params(200, 20_000)]
    public int PromptBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string prompt = string.Concat(Enumerable.Repeat("Summarise the quarterly report in three bullet points. ", (PromptBytes / 55) + 1))[..PromptBytes];
        _messages = [new(ChatRole.System, "You are a concise assistant."), new(ChatRole.User, prompt)];
        _options = new ChatOptions { ModelId = "gpt-4o-mini", Temperature = 0.2f, MaxOutputTokens = 256 };

        var inner = new AnsweringChatClient();
        var options = new LlmRouterOptions();
        options.Cache.Enabled = true;
        var endpointOptions = new EndpointOptions();
        options.Endpoints["a"] = endpointOptions;
        _router = new RouterChatClient([new RouterEndpoint("a", inner, endpointOptions, 0, ownsClient: false)], options);
        _meai = new DistributedCachingChatClient(inner, new MemoryDistributedCache(Options.Create(new MemoryDistributedCacheOptions())));

        // Warm both caches: every measured call is a hit.
        _ = _router.GetResponseAsync(_messages, _options).GetAwaiter().GetResult();
        _ = _meai.GetResponseAsync(_messages, _options).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _router.Dispose();
        _meai.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<ChatResponse> MeaiDistributedCachingHit() => _meai.GetResponseAsync(_messages, _options);

    [Benchmark]
    public Task<ChatResponse> RouterCacheHit() => _router.GetResponseAsync(_messages, _options);

    [Benchmark]
    public bool ComputeKey() => CacheKeyBuilder.TryCreate(_messages, _options, null, out _, out _);

    /// <summary>Answers at once with a typical short answer and usage.</summary>
    private sealed class AnsweringChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "- Revenue grew 12%.\n- Costs fell 3%.\n- Outlook raised."))
            {
                FinishReason = ChatFinishReason.Stop,
                ModelId = "gpt-4o-mini",
                Usage = new UsageDetails { InputTokenCount = 1200, OutputTokenCount = 24, TotalTokenCount = 1224 },
            });

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException("The cache benchmark does not stream.");

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
