using System.Net;
using System.Net.Sockets;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A loopback TCP proxy that holds every chunk it forwards, in both directions, for <see cref="Delay"/>: a slow Redis.
/// Counts the bytes each way, so a test can tell whether anything was sent at all.
/// </summary>
public sealed class DelayingTcpProxy : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly int _targetPort;
    private readonly CancellationTokenSource _stop = new();
    private long _bytesToServer;
    private long _bytesToClient;

    public DelayingTcpProxy(int targetPort, TimeSpan delay)
    {
        _targetPort = targetPort;
        Delay = delay;
        _listener.Start();
        _ = Task.Run(AcceptAsync);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public TimeSpan Delay { get; set; }

    public long BytesToServer => Interlocked.Read(ref _bytesToServer);

    public long BytesToClient => Interlocked.Read(ref _bytesToClient);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                NetworkStream a = client.GetStream();
                NetworkStream b = server.GetStream();
                Task up = PumpAsync(a, b, toServer: true);
                Task down = PumpAsync(b, a, toServer: false);
                _ = await Task.WhenAny(up, down);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or IOException or ObjectDisposedException)
            {
                // The connection ends; the client sees it closed.
            }
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool toServer)
    {
        byte[] buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                int read = await from.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                _ = Interlocked.Add(ref toServer ? ref _bytesToServer : ref _bytesToClient, read);
                await Task.Delay(Delay, _stop.Token);
                await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or SocketException)
        {
            // Either side closed.
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        _listener.Dispose();
        _stop.Dispose();
    }
}
