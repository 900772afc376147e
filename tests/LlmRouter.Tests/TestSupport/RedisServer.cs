using LlmRouter.Simulation;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A real redis-server on 127.0.0.1 and a free port, started for a test class and killed after it; can be stopped and
/// started again mid-test to simulate an outage. No persistence. Starts through the samples' <see cref="LoopbackRedis"/>.
/// </summary>
/// <remarks>
/// When redis-server is not installed, tests that need it are skipped locally with the reason, and fail under CI
/// (<c>CI=true</c>), so that a CI machine without Redis is noticed rather than silently skipping them.
/// </remarks>
public sealed class RedisServer : IAsyncLifetime
{
    private LoopbackRedis? _server;

    public int Port { get; private set; }

    /// <summary>Gets the StackExchange.Redis configuration string, with short timeouts so an outage is felt fast.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=500,syncTimeout=500,asyncTimeout=500,connectRetry=0";

    public bool Available => _server is { HasExited: false };

    public static string? Executable => LoopbackRedis.Executable;

    public async ValueTask InitializeAsync()
    {
        if (Executable is null)
        {
            return;
        }

        Port = LoopbackRedis.FreePort();
        await StartAsync();
    }

    /// <summary>Skips the test locally, or fails it under CI, when redis-server is missing.</summary>
    public void Require()
    {
        if (Available)
        {
            return;
        }

        string reason = Executable is null
            ? "redis-server is not installed (apt-get install redis-server); .ci/run installs it"
            : "redis-server did not start";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail($"Redis tests cannot run under CI: {reason}.");
        }

        Assert.Skip(reason);
    }

    /// <summary>Kills the server (an outage); <see cref="StartAsync"/> brings it back on the same port, empty.</summary>
    public void Kill()
    {
        _server?.Dispose();
        _server = null;
    }

    /// <summary>Starts the server on <see cref="Port"/> and waits until it answers; leaves it unavailable if it does not.</summary>
    public Task StartAsync()
    {
        // A process start is outside the router's clock: the readiness wait is real time, off the test's thread.
        return Task.Run(() =>
        {
            try
            {
                _server = LoopbackRedis.Start(Port);
            }
            catch (InvalidOperationException)
            {
                _server = null;
            }
        });
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        return ValueTask.CompletedTask;
    }
}
