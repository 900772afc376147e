using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.Benchmarks;

/// <summary>
/// Streams of 1,000 updates: what each further update costs through the router, once the per-stream setup is spread
/// thin (RouterOverheadBenchmarks spreads it over 100 updates).
/// </summary>
[MemoryDiagnoser]
public class LongStreamBenchmarks
{
    private const int Updates = 1_000;
    private readonly List<ChatMessage> _messages = [new(ChatRole.User, "hello")];
    private InstantChatClient _direct = null!;
    private IChatClient _router = null!;
    private ServiceProvider _services = null!;

    [GlobalSetup]
    public void Setup()
    {
        _direct = new InstantChatClient(Updates);
        var services = new ServiceCollection();
        services.AddLlmRouter(r => r.AddEndpoint("e0", _direct).AddEndpoint("e1", new InstantChatClient(Updates)));
        _services = services.BuildServiceProvider();
        _router = _services.GetRequiredService<IChatClient>();
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = Updates)]
    public Task<int> DirectPerUpdate() => Drain(_direct);

    [Benchmark(OperationsPerInvoke = Updates)]
    public Task<int> RouterPerUpdate() => Drain(_router);

    private async Task<int> Drain(IChatClient client)
    {
        int count = 0;
        await foreach (ChatResponseUpdate update in client.GetStreamingResponseAsync(_messages).ConfigureAwait(false))
        {
            count += update.Contents.Count;
        }

        return count;
    }
}
