using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace LlmRouter.Simulation;

/// <summary>
/// A throwaway redis-server on 127.0.0.1 and a free port, without persistence, for the fleet demo and measurements:
/// started ready (it has answered PING), killed on <see cref="Dispose"/>.
/// </summary>
public sealed class LoopbackRedis : IDisposable
{
    private static readonly TimeSpan ReadyWithin = TimeSpan.FromSeconds(10);
    private readonly Process _process;

    private LoopbackRedis(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>Gets the full path of redis-server found on the PATH, or <see langword="null"/> when it is not installed.</summary>
    public static string? Executable { get; } = Find();

    /// <summary>Gets the port the server listens on, on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>Gets the StackExchange.Redis configuration string of the server.</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{Port}");

    /// <summary>Gets a value indicating whether the server process has ended (killed, or crashed).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Gets a port on 127.0.0.1 that nothing listened on a moment ago.</summary>
    /// <returns>The port.</returns>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Starts redis-server and waits until it answers PING.</summary>
    /// <param name="port">The port to listen on; a free one when <see langword="null"/>.</param>
    /// <returns>The running server; dispose it to kill it.</returns>
    /// <exception cref="InvalidOperationException">redis-server is not on the PATH, did not start, or did not answer within 10 s.</exception>
    public static LoopbackRedis Start(int? port = null)
    {
        string executable = Executable ?? throw new InvalidOperationException("redis-server is not on the PATH (apt-get install redis-server, or brew install redis).");
        int chosen = port ?? FreePort();
        var start = new ProcessStartInfo(executable)
        {
            ArgumentList = { "--port", chosen.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        Process process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var redis = new LoopbackRedis(process, chosen);
        if (!redis.WaitUntilReady())
        {
            redis.Dispose();
            throw new InvalidOperationException($"redis-server on port {chosen} did not answer PING within {ReadyWithin.TotalSeconds:0} s.");
        }

        return redis;
    }

    /// <summary>Kills the server (if it still runs) and waits for it to end.</summary>
    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _ = _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Ended between the check and the kill: nothing left to stop.
        }

        _process.Dispose();
    }

    /// <summary>Polls with PING until the server answers PONG (it loads nothing, so it is ready once it answers).</summary>
    private bool WaitUntilReady()
    {
        var clock = Stopwatch.StartNew();
        byte[] ping = Encoding.ASCII.GetBytes("PING\r\n");
        byte[] answer = new byte[16];
        while (clock.Elapsed < ReadyWithin && !_process.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, Port);
                client.ReceiveTimeout = 1000;
                NetworkStream stream = client.GetStream();
                stream.Write(ping);
                int read = stream.Read(answer);
                if (Encoding.ASCII.GetString(answer, 0, read).StartsWith("+PONG", StringComparison.Ordinal))
                {
                    return true;
                }
            }
            catch (SocketException)
            {
            }
            catch (IOException)
            {
            }

            Thread.Sleep(20);
        }

        return false;
    }

    private static string? Find()
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            if (directory.Length == 0)
            {
                continue;
            }

            string candidate = Path.Combine(directory, "redis-server");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
