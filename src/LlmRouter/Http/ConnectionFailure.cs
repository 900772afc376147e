using System.Net.Http;
using System.Net.Sockets;

namespace LlmRouter;

/// <summary>Tells a failure to connect (the request never reached the provider) from every other HTTP failure.</summary>
internal static class ConnectionFailure
{
    /// <summary>
    /// Whether <paramref name="exception"/> says the connection could not be made: the only failure the HTTP layer
    /// retries, since the provider saw nothing. A reset or a cut after sending may have reached the provider (and
    /// been billed), and every status the provider answered is the router's to decide.
    /// </summary>
    public static bool IsConnectFailure(Exception? exception) => exception switch
    {
        HttpRequestException { StatusCode: null, HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError } => true,
        HttpRequestException { StatusCode: null, InnerException: SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostNotFound } } => true,
        _ => false,
    };
}
