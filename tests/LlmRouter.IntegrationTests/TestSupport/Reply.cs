namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>
/// One scripted answer of a loopback provider server: an error (status and the provider's own error body) or a
/// success (a JSON completion, or a stream when the request asks for one), with the timing and wire faults to inject.
/// </summary>
public sealed record Reply
{
    /// <summary>Gets the HTTP status; anything but 200 is an error written in the provider's format.</summary>
    public int Status { get; init; } = 200;

    /// <summary>Gets the provider's error type (OpenAI <c>type</c>, Anthropic <c>error.type</c>); Ollama has none.</summary>
    public string? ErrorType { get; init; }

    /// <summary>Gets the provider's error message.</summary>
    public string? ErrorMessage { get; init; }

    /// <summary>Gets the provider's error code (OpenAI <c>code</c>).</summary>
    public string? ErrorCode { get; init; }

    /// <summary>Gets extra response headers, such as <c>retry-after</c>.</summary>
    public IReadOnlyList<(string Name, string Value)> Headers { get; init; } = [];

    /// <summary>Gets the text chunks of a success; joined for a JSON completion.</summary>
    public IReadOnlyList<string> Chunks { get; init; } = ["Hel", "lo"];

    /// <summary>Gets the finish reason in the provider's own words; <see langword="null"/> for the provider's normal stop.</summary>
    public string? FinishReason { get; init; }

    /// <summary>Gets a wait before the status line and headers.</summary>
    public TimeSpan HeaderDelay { get; init; }

    /// <summary>Gets a wait after the headers (and the stream's preamble) before the first content.</summary>
    public TimeSpan FirstChunkDelay { get; init; }

    /// <summary>Gets the number of content chunks after which the stream stalls for <see cref="StallFor"/>.</summary>
    public int? StallAfterChunks { get; init; }

    /// <summary>Gets how long a stall lasts.</summary>
    public TimeSpan StallFor { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Gets the number of content chunks after which the connection is aborted (0: before any body; for JSON, before the headers).</summary>
    public int? DropAfterChunks { get; init; }

    /// <summary>Gets the number of content chunks after which a chunk that is not valid JSON is sent (for JSON: the whole body is malformed).</summary>
    public int? MalformedAfterChunks { get; init; }

    /// <summary>Gets the number of content chunks after which the provider reports an error inside the stream and ends it.</summary>
    public int? InBandErrorAfterChunks { get; init; }

    /// <summary>Gets a value indicating whether the stream ends without its finish reason (and without its terminator).</summary>
    public bool OmitFinish { get; init; }

    /// <summary>Gets a value indicating whether the stream ends without its terminator (<c>[DONE]</c>, <c>message_stop</c>).</summary>
    public bool OmitTerminator { get; init; }

    /// <summary>A plain success with the given chunks.</summary>
    public static Reply Answer(params string[] chunks) => new() { Chunks = chunks };
}
