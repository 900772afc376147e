using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace LlmRouter.Benchmarks;

/// <summary>Starts a throwaway redis-server on a free loopback port, without persistence, for the fleet measurements.</summary>
internal static class LoopbackRedis
{
    /// <summary>Starts redis-server; the caller kills the process when done.</summary>
    /// <exception cref="InvalidOperationException">redis-server could not be started.</exception>
    public static (Process Redis, int Port) Start()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var start = new ProcessStartInfo("redis-server")
        {
            ArgumentList = { "--port", port.ToString(CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", string.Empty, "--appendonly", "no" },
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        Process redis = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        redis.BeginOutputReadLine();
        return (redis, port);
    }
}
