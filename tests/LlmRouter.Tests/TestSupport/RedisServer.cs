using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A real redis-server on 127.0.0.1 and a free port, started for a test class and killed after it; can be stopped and
/// started again mid-test to simulate an outage. No persistence.
/// </summary>
/// <remarks>
/// When redis-server is not installed, tests that need it are skipped locally with the reason, and fail under CI
/// (<c>CI=true</c>), so that a CI machine without Redis is noticed rather than silently skipping them.
/// </remarks>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;

    public int Port { get; private set; }

    /// <summary>Gets the StackExchange.Redis configuration string, with short timeouts so an outage is felt fast.</summary>
    public string ConnectionString => $"127.0.0.1:{Port},abortConnect=false,connectTimeout=500,syncTimeout=500,asyncTimeout=500,connectRetry=0";

    public bool Available => _process is { HasExited: false };

    public static string? Executable { get; } = Find();

    public async ValueTask InitializeAsync()
    {
        if (Executable is null)
        {
            return;
        }

        Port = FreePort();
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
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(5000);
        }
    }

    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(Executable!)
        {
            ArgumentList = { "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        _process.OutputDataReceived += static (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        // Ready when it accepts a connection (real time: a process start is outside the router's clock).
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(20);
            }
        }

        Kill();
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? Find()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
