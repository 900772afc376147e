using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.Benchmarks;

/// <summary>What the router adds over calling the endpoint directly, next to Microsoft.Extensions.AI's own OrderedFailoverChatClient.</summary>
[MemoryDiagnoser]
public class RouterOverheadBenchmarks
{
    private const int StreamedUpdates = 100;
    private readonly List<ChatMessage> _messages = [new(ChatRole.User, "hello")];
    private InstantChatClient _direct = null!;
    private IChatClient _router = null!;
    private OrderedFailoverChatClient _meaiFailover = null!;
    private ServiceProvider _services = null!;

    /// <summary>Gets or sets how many endpoints stand behind the router and the failover client.</summary>
    [Params(2, 8)]
    public int Endpoints { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _direct = new InstantChatClient(StreamedUpdates);
        IChatClient[] others = [.. Enumerable.Range(1, Endpoints - 1).Select(static _ => new InstantChatClient(StreamedUpdates))];
        var services = new ServiceCollection();
        services.AddLlmRouter(r =>
        {
            _ = r.AddEndpoint("e0", _direct);
            for (int i = 0; i < others.Length; i++)
            {
                _ = r.AddEndpoint($"e{i + 1}", others[i]);
            }
        });
        _services = services.BuildServiceProvider();
        _router = _services.GetRequiredService<IChatClient>();
        _meaiFailover = new OrderedFailoverChatClient([_direct, .. others], leaveOpen: true);
    }

    [GlobalCleanup]
    public void Cleanup() => _services.Dispose();

    [Benchmark(Baseline = true)]
    [BenchmarkCategory("response")]
    public Task<ChatResponse> Direct() => _direct.GetResponseAsync(_messages);

    [Benchmark]
    [BenchmarkCategory("response")]
    public Task<ChatResponse> Router() => _router.GetResponseAsync(_messages);

    [Benchmark]
    [BenchmarkCategory("response")]
    public Task<ChatResponse> MeaiOrderedFailover() => _meaiFailover.GetResponseAsync(_messages);

    [Benchmark(OperationsPerInvoke = StreamedUpdates)]
    [BenchmarkCategory("stream")]
    public Task<int> DirectStreamPerUpdate() => Drain(_direct);

    [Benchmark(OperationsPerInvoke = StreamedUpdates)]
    [BenchmarkCategory("stream")]
    public Task<int> RouterStreamPerUpdate() => Drain(_router);

    [Benchmark(OperationsPerInvoke = StreamedUpdates)]
    [BenchmarkCategory("stream")]
    public Task<int> MeaiOrderedFailoverStreamPerUpdate() => Drain(_meaiFailover);

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
