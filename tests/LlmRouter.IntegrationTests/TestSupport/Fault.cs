namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>The faults the matrix injects, each written in every provider's own format where the provider has it.</summary>
public enum Fault
{
    /// <summary>429 with the provider's rate-limit body and <c>retry-after</c> / <c>retry-after-ms</c>.</summary>
    RateLimited429,

    /// <summary>500 with the provider's server-error body.</summary>
    ServerError500,

    /// <summary>503 with the provider's unavailable / busy body.</summary>
    Unavailable503,

    /// <summary>Anthropic's 529 <c>overloaded_error</c>.</summary>
    Overloaded529,

    /// <summary>The provider refuses the content: an error status, or a success whose finish reason says so.</summary>
    ContentFilter,

    /// <summary>The request exceeds the model's context window.</summary>
    ContextLength,

    /// <summary>401 invalid API key.</summary>
    InvalidKey401,

    /// <summary>404 model not found.</summary>
    ModelNotFound404,

    /// <summary>400 bad request (an invalid parameter).</summary>
    BadRequest400,

    /// <summary>No status line for longer than the router's attempt timeout.</summary>
    DelayBeforeHeaders,

    /// <summary>Headers at once, then no content for longer than the router's first-token (or attempt) timeout.</summary>
    DelayBeforeFirstChunk,

    /// <summary>The connection is reset before any content.</summary>
    DropBeforeOutput,

    /// <summary>The body is not what the SDK can parse, before any content.</summary>
    MalformedBeforeOutput,

    /// <summary>The provider reports an error inside the stream before any content (Anthropic <c>overloaded_error</c>).</summary>
    InBandErrorBeforeOutput,

    /// <summary>A stall after the first chunk, longer than the router's stall timeout.</summary>
    StallAfterOutput,

    /// <summary>The connection is reset after the first chunk.</summary>
    DropAfterOutput,

    /// <summary>A chunk the SDK cannot parse, after the first chunk.</summary>
    MalformedAfterOutput,

    /// <summary>An in-band error after the first chunk.</summary>
    InBandErrorAfterOutput,

    /// <summary>The stream ends cleanly after content but without its finish reason.</summary>
    NoFinishReason,

    /// <summary>The stream carries its finish reason but ends without its terminator (<c>[DONE]</c>, <c>message_stop</c>).</summary>
    NoTerminator,
}
