using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using BenchmarkDotNet.Attributes;
using LlmRouter.Simulation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace LlmRouter.Benchmarks;

/// <summary>
/// What fleet mode adds to a routed call: the same router with and without <c>AddRedisFleet</c>, connected to a real
/// redis-server on loopback (started here when it is on the PATH). The mirror's Redis commands during the measured
/// calls are printed at cleanup: the request path sends none.
/// </summary>
[MemoryDiagnoser]
public class FleetOverheadBenchmarks
{
    private readonly List<ChatMessage> _messages = [new(ChatRole.User, "hello")];
    private ServiceProvider _services = null!;
    private RouterChatClient _router = null!;
    private LoopbackRedis? _redis;
    private long _commandsAtStart;

    /// <summary>Gets or sets a value indicating whether fleet mode is on.</summary>
    [Params(false, true)]
    public bool Fleet { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        LlmRouterBuilder builder = services.AddLlmRouter(r => r
            .AddEndpoint("e0", new InstantChatClient(1))
            .AddEndpoint("e1", new InstantChatClient(1)));
        if (Fleet)
        {
            _redis = LoopbackRedis.Start();
            _ = builder.AddRedisFleet(o =>
            {
                o.KeyPrefix = "bench";
                o.ConnectionString = _redis.ConnectionString;
            });
        }

        _services = services.BuildServiceProvider();
        _router = _services.GetRequiredService<RouterChatClient>();
        if (Fleet)
        {
            var clock = Stopwatch.StartNew();
            while (_router.GetFleetStatus()!.State != FleetConnectionState.Connected && clock.Elapsed < TimeSpan.FromSeconds(10))
            {
                Thread.Sleep(10);
            }

            Console.WriteLine($"// fleet: {_router.GetFleetStatus()}");
            _commandsAtStart = _router.Fleet!.CommandsSent;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (Fleet)
        {
            Console.WriteLine($"// fleet: Redis commands sent while measuring: {_router.Fleet!.CommandsSent - _commandsAtStart}");
        }

        _services.Dispose();
        _redis?.Dispose();
    }

    [Benchmark]
    public Task<ChatResponse> RoutedCall() => _router.GetResponseAsync(_messages);
}
