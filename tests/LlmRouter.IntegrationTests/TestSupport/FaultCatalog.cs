namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>Each provider's real answer for each fault: status, error body and headers as the provider documents them.</summary>
public static class FaultCatalog
{
    /// <summary>Longer than any router timeout the tests set, shorter than the test timeout; the server stops waiting when the client leaves.</summary>
    public static readonly TimeSpan LongDelay = TimeSpan.FromSeconds(20);

    /// <summary>
    /// The reply that injects <paramref name="fault"/> in <paramref name="sdk"/>'s format, or <see langword="null"/> when the
    /// provider has no such failure (Ollama has no content filter; only Anthropic answers 529) or it has no meaning
    /// without a stream.
    /// </summary>
    public static Reply? For(Sdk sdk, Fault fault, bool streaming)
    {
        if (!streaming && fault is Fault.InBandErrorBeforeOutput or Fault.StallAfterOutput or Fault.DropAfterOutput
            or Fault.MalformedAfterOutput or Fault.InBandErrorAfterOutput or Fault.NoFinishReason or Fault.NoTerminator)
        {
            return null;
        }

        if (fault == Fault.NoTerminator && sdk == Sdk.Ollama)
        {
            return null; // the done line is both its finish reason and its end
        }

        return fault switch
        {
            Fault.RateLimited429 => sdk switch
            {
                Sdk.OpenAi => Error(429, "requests", "Rate limit reached for gpt-4o-mini in organization org-loopback on requests per min (RPM): Limit 3, Used 3, Requested 1.", "rate_limit_exceeded")
                    with { Headers = [("retry-after-ms", "150"), ("retry-after", "1")] },
                Sdk.Anthropic => Error(429, "rate_limit_error", "This request would exceed the rate limit for your organization of 50 requests per minute.")
                    with { Headers = [("retry-after", "1")] },
                _ => Error(429, null, "too many requests, please try again later") with { Headers = [("retry-after", "1")] },
            },
            Fault.ServerError500 => sdk switch
            {
                Sdk.OpenAi => Error(500, "server_error", "The server had an error while processing your request. Sorry about that!"),
                Sdk.Anthropic => Error(500, "api_error", "Internal server error"),
                _ => Error(500, null, "llama runner process has terminated: exit status 2"),
            },
            Fault.Unavailable503 => sdk switch
            {
                Sdk.OpenAi => Error(503, "server_error", "The engine is currently overloaded, please try again later"),
                Sdk.Anthropic => Error(503, "api_error", "Service unavailable"),
                _ => Error(503, null, "server busy, please try again.  maximum pending requests exceeded"),
            },
            Fault.Overloaded529 => sdk == Sdk.Anthropic ? Error(529, "overloaded_error", "Overloaded") : null,
            Fault.ContentFilter => sdk switch
            {
                // Azure OpenAI refuses a prompt with 400 content_filter; its answers and OpenAI's end with finish_reason content_filter.
                Sdk.OpenAi when !streaming => Error(400, null, "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", "content_filter"),
                Sdk.OpenAi => new Reply { Chunks = [], FinishReason = "content_filter" },
                Sdk.Anthropic => new Reply { Chunks = [], FinishReason = "refusal" },
                _ => null,
            },
            Fault.ContextLength => sdk switch
            {
                Sdk.OpenAi => Error(400, "invalid_request_error", "This model's maximum context length is 128000 tokens. However, your messages resulted in 130000 tokens. Please reduce the length of the messages.", "context_length_exceeded"),
                Sdk.Anthropic => Error(400, "invalid_request_error", "prompt is too long: 208317 tokens > 200000 maximum"),
                _ => Error(400, null, "the input length exceeds the context length"),
            },
            Fault.InvalidKey401 => sdk switch
            {
                Sdk.OpenAi => Error(401, "invalid_request_error", "Incorrect API key provided: test-key. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_api_key"),
                Sdk.Anthropic => Error(401, "authentication_error", "invalid x-api-key"),
                _ => Error(401, null, "unauthorized"),
            },
            Fault.ModelNotFound404 => sdk switch
            {
                Sdk.OpenAi => Error(404, "invalid_request_error", "The model `gpt-4o-mini` does not exist or you do not have access to it.", "model_not_found"),
                Sdk.Anthropic => Error(404, "not_found_error", "model: claude-sonnet-4-5"),
                _ => Error(404, null, "model \"llama3.2\" not found, try pulling it first"),
            },
            Fault.BadRequest400 => sdk switch
            {
                Sdk.OpenAi => Error(400, "invalid_request_error", "Invalid value for 'temperature': expected a number between 0 and 2.", "invalid_value"),
                Sdk.Anthropic => Error(400, "invalid_request_error", "temperature: range: 0..1"),
                _ => Error(400, null, "invalid options: temperature"),
            },
            Fault.DelayBeforeHeaders => new Reply { HeaderDelay = LongDelay },
            Fault.DelayBeforeFirstChunk => new Reply { FirstChunkDelay = LongDelay },
            Fault.DropBeforeOutput => new Reply { DropAfterChunks = 0 },
            Fault.MalformedBeforeOutput => new Reply { MalformedAfterChunks = 0 },
            Fault.InBandErrorBeforeOutput => InBand(sdk, 0),
            Fault.StallAfterOutput => new Reply { StallAfterChunks = 1, StallFor = LongDelay },
            Fault.DropAfterOutput => new Reply { DropAfterChunks = 1 },
            Fault.MalformedAfterOutput => new Reply { MalformedAfterChunks = 1 },
            Fault.InBandErrorAfterOutput => InBand(sdk, 1),
            Fault.NoFinishReason => new Reply { OmitFinish = true },
            Fault.NoTerminator => new Reply { OmitTerminator = true },
            _ => null,
        };
    }

    private static Reply InBand(Sdk sdk, int after) => sdk switch
    {
        Sdk.Anthropic => new Reply { InBandErrorAfterChunks = after, ErrorType = "overloaded_error", ErrorMessage = "Overloaded" },
        Sdk.OpenAi => new Reply { InBandErrorAfterChunks = after, ErrorType = "server_error", ErrorMessage = "The server had an error while processing your request." },
        _ => new Reply { InBandErrorAfterChunks = after, ErrorMessage = "an error was encountered while running the model: unexpected EOF" },
    };

    private static Reply Error(int status, string? type, string message, string? code = null) =>
        new() { Status = status, ErrorType = type, ErrorMessage = message, ErrorCode = code };
}
