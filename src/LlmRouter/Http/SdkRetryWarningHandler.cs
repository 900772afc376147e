using Microsoft.Extensions.Logging;

namespace LlmRouter;

/// <summary>
/// Warns, once per HTTP client, when a request shows that the SDK above it retried on its own: under the router those
/// retries hide failures from the health model and multiply attempts.
/// </summary>
/// <remarks>
/// The Anthropic SDK (and other Stainless-generated SDKs) numbers its retries in the <c>x-stainless-retry-count</c>
/// header. The OpenAI SDK's <c>ClientRetryPolicy</c> sends no such mark, so its retries cannot be seen here.
/// </remarks>
internal sealed partial class SdkRetryWarningHandler : DelegatingHandler
{
    private const string RetryCountHeader = "x-stainless-retry-count";

    private readonly ILogger _logger;
    private readonly string _clientName;
    private int _warned;

    public SdkRetryWarningHandler(ILogger logger, string clientName)
    {
        _logger = logger;
        _clientName = clientName;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _warned) == 0 &&
            request.Headers.TryGetValues(RetryCountHeader, out IEnumerable<string>? values) &&
            values.FirstOrDefault() is { } value && value != "0" &&
            Interlocked.Exchange(ref _warned, 1) == 0)
        {
            SdkRetrying(_logger, _clientName, value);
        }

        return base.SendAsync(request, cancellationToken);
    }

    [LoggerMessage(
        EventId = 900,
        Level = LogLevel.Warning,
        Message = "HTTP client '{ClientName}': the SDK above it is retrying on its own (retry {RetryCount}). Under LlmRouter, turn the SDK's retries off " +
            "(Anthropic: MaxRetries = 0; OpenAI: RetryPolicy = new ClientRetryPolicy(0)) so that the router sees each failure and decides.")]
    private static partial void SdkRetrying(ILogger logger, string clientName, string retryCount);
}
