using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Sockets;

namespace LlmRouter;

/// <summary>
/// The built-in classifier: HTTP status codes, the OpenAI SDK's <see cref="ClientResultException"/>, the Anthropic SDK's
/// and OllamaSharp's exceptions (read by their shape, see <see cref="ProviderExceptionShape"/>), timeouts and I/O errors.
/// </summary>
/// <remarks>
/// <para>
/// An exception it does not recognise is <see cref="FailureKind.Transient"/>: failing over is the safe default for
/// an unknown failure, and the health model still sees it.
/// </para>
/// <para>
/// What the real SDKs throw was observed against loopback protocol servers (tests/LlmRouter.IntegrationTests):
/// OpenAI 2.x throws <see cref="ClientResultException"/> with the status and the buffered error body, or with status 0
/// (an <see cref="HttpRequestException"/> inside) when the connection failed before a response; a stream cut short
/// surfaces the raw <see cref="IOException"/>, a garbled chunk a <see cref="System.Text.Json.JsonException"/>.
/// Anthropic 13.x throws <c>Anthropic4xxException</c>/<c>Anthropic5xxException</c> subclasses with <c>StatusCode</c>
/// and <c>ResponseBody</c> (no response headers, so no Retry-After), <c>AnthropicSseException</c> with the error JSON for
/// an in-stream <c>error</c> event, <c>AnthropicIOException</c> for a failed connection and
/// <c>AnthropicInvalidDataException</c> for a garbled event. OllamaSharp 5.x throws <see cref="HttpRequestException"/>
/// with <see cref="HttpRequestException.StatusCode"/> for an error status, except for 400, which it turns into an
/// <c>OllamaException</c> carrying only Ollama's error text.
/// </para>
/// </remarks>
internal sealed class DefaultFailureClassifier : IFailureClassifier
{
    private static readonly string[] ContextLengthMarkers =
    [
        "context_length_exceeded", "maximum context length", "prompt is too long", "context window", "request_too_large",
        "exceeds the context length", "context length exceeded",
    ];

    private static readonly string[] ContentFilterMarkers =
    [
        "content_filter", "content_policy_violation", "responsibleaipolicyviolation", "content management policy",
    ];

    private static readonly string[] RateLimitCodes = ["rate_limit", "too_many_requests", "quota"];

    private static readonly string[] AuthCodes = ["authentication", "permission", "not_found", "invalid_api_key", "unauthorized", "forbidden"];

    private static readonly string[] BadRequestCodes = ["invalid_request", "bad_request", "invalid_argument"];

    // OllamaSharp's OllamaException carries Ollama's error text only (it comes from a 400): these name a missing model.
    private static readonly string[] ModelNotFoundMarkers = ["not found, try pulling", "model not found", "unauthorized"];

    private const string OllamaException = "OllamaSharp.Models.Exceptions.OllamaException";

    private readonly TimeProvider _timeProvider;

    public DefaultFailureClassifier(TimeProvider timeProvider) => _timeProvider = timeProvider;

    public FailureClassification? Classify(Exception exception) => exception switch
    {
        ClientResultException e when e.Status > 0 => ClassifyClientResult(e),
        InBandErrorException e => FromErrorCode(e.ErrorCode, $"{e.ErrorMessage}\n{e.Details}"),
        System.Text.Json.JsonException => new(FailureKind.Transient), // a garbled or cut body: the next answer is likely whole
        _ when ProviderExceptionShape.StatusCode(exception) is int status and >= 400 and < 600 =>
            FromStatus(status, $"{exception.Message}\n{ProviderExceptionShape.Body(exception)}", null),
        _ when ProviderExceptionShape.ErrorType(exception) is { } errorType => FromErrorCode(errorType, exception.Message),
        _ when ProviderExceptionShape.Is(exception, OllamaException) => ClassifyOllama(exception.Message),
        HttpRequestException { StatusCode: { } status } e => FromStatus((int)status, e.Message, null),
        HttpRequestException => new(FailureKind.Transient),
        TimeoutException => new(FailureKind.Timeout),
        Polly.Timeout.TimeoutRejectedException => new(FailureKind.Timeout), // the HTTP layer's attempt timeout (AddLlmResilienceHandler)

        // Not the caller's token and not our attempt timer (both are recognised before classifiers run):
        // an SDK's own timeout, such as HttpClient.Timeout.
        OperationCanceledException => new(FailureKind.Timeout),
        IOException or SocketException => new(FailureKind.Transient),
        ClientResultException => new(FailureKind.Transient), // no status: the connection failed before a response

        // A wrapper of the SDK's own (such as AnthropicIOException around an HttpRequestException): its cause decides.
        { InnerException: HttpRequestException or IOException or SocketException or TimeoutException } => Classify(exception.InnerException!),
        _ => null,
    };

    /// <summary>Classifies OllamaSharp's <c>OllamaException</c>, which it throws for HTTP 400 with Ollama's error text.</summary>
    internal static FailureClassification ClassifyOllama(string? errorText) => new(
        Contains(errorText, ContextLengthMarkers) ? FailureKind.ContextLength
        : Contains(errorText, ModelNotFoundMarkers) ? FailureKind.Auth
        : FailureKind.BadRequest);

    /// <summary>Maps an HTTP status, with the error text, to a failure kind.</summary>
    internal static FailureClassification FromStatus(int status, string? errorText, TimeSpan? retryAfter)
    {
        FailureKind kind = status switch
        {
            429 => FailureKind.RateLimited,
            408 => FailureKind.Timeout,
            401 or 403 or 404 => FailureKind.Auth,
            413 => FailureKind.ContextLength,
            400 or 422 when Contains(errorText, ContextLengthMarkers) => FailureKind.ContextLength,
            400 or 422 when Contains(errorText, ContentFilterMarkers) => FailureKind.ContentFilter,
            409 => FailureKind.Transient, // a conflict on the provider's side, such as a concurrent update; passes
            >= 400 and < 500 => FailureKind.BadRequest,
            _ => FailureKind.Transient, // 5xx, 529 overloaded, and anything unexpected
        };

        // Some providers send Retry-After on 503/529 too: keep it, the backoff honours it.
        return new FailureClassification(kind, retryAfter);
    }

    /// <summary>Maps an error code reported inside a stream (a provider's error type, or an HTTP status as text) to a failure kind.</summary>
    internal static FailureClassification FromErrorCode(string? code, string? errorText)
    {
        if (int.TryParse(code, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int status) && status is >= 400 and < 600)
        {
            return FromStatus(status, errorText, null);
        }

        string text = string.Concat(code, "\n", errorText);
        FailureKind kind =
            Contains(text, ContextLengthMarkers) ? FailureKind.ContextLength
            : Contains(text, ContentFilterMarkers) ? FailureKind.ContentFilter
            : Contains(code, RateLimitCodes) ? FailureKind.RateLimited
            : Contains(code, AuthCodes) ? FailureKind.Auth
            : Contains(code, BadRequestCodes) ? FailureKind.BadRequest
            : FailureKind.Transient; // overloaded_error, api_error, server_error and anything unknown
        return new FailureClassification(kind);
    }

    private FailureClassification ClassifyClientResult(ClientResultException exception)
    {
        PipelineResponse? response = exception.GetRawResponse();
        TimeSpan? retryAfter = null;
        string? body = null;
        if (response is not null)
        {
            _ = response.Headers.TryGetValue("retry-after-ms", out string? retryAfterMs);
            _ = response.Headers.TryGetValue("retry-after", out string? retryAfterValue);
            retryAfter = RetryAfterParser.Parse(retryAfterMs, retryAfterValue, _timeProvider.GetUtcNow());
            body = TryReadBody(response);
        }

        return FromStatus(exception.Status, body is null ? exception.Message : exception.Message + "\n" + body, retryAfter);
    }

    private static string? TryReadBody(PipelineResponse response)
    {
        try
        {
            // Content throws when the response was not buffered (a stream); error responses are buffered by the SDK.
            return response.Content.ToString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    private static bool Contains(string? text, string[] markers)
    {
        if (string.IsNullOrEmpty(text))
        {
            return false;
        }

        foreach (string marker in markers)
        {
            if (text.Contains(marker, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
