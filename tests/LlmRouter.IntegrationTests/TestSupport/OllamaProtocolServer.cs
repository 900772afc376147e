using System.Text.Json.Nodes;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>
/// Ollama's <c>POST /api/chat</c>: NDJSON lines of <c>{"message":{"role","content"},"done":false}</c> ending with a
/// <c>"done":true</c> line (done reason and counts), or one JSON object when <c>"stream":false</c>; errors as
/// <c>{"error":"..."}</c>, also in-band as an error line.
/// </summary>
public sealed class OllamaProtocolServer : LoopbackProviderServer
{
    /// <summary>The model the server claims to serve.</summary>
    public const string Model = "llama3.2";

    /// <inheritdoc/>
    protected override string ChatPath => "/api/chat";

    /// <inheritdoc/>
    protected override string StreamContentType => "application/x-ndjson";

    /// <summary>Starts a server on a free loopback port.</summary>
    public static Task<OllamaProtocolServer> StartAsync() => StartAsync(new OllamaProtocolServer());

    /// <inheritdoc/>
    protected override bool IsStreaming(JsonNode? body) => body?["stream"]?.GetValue<bool>() != false; // Ollama streams unless told not to

    /// <inheritdoc/>
    protected override string ErrorBody(Reply reply) => new JsonObject { ["error"] = reply.ErrorMessage }.ToJsonString();

    /// <inheritdoc/>
    protected override string Completion(Reply reply, string text) => Final(reply, text).ToJsonString();

    /// <inheritdoc/>
    protected override IEnumerable<string> Preamble(Reply reply) => [];

    /// <inheritdoc/>
    protected override string ContentFrame(string text, int index) => Line(new JsonObject
    {
        ["model"] = Model,
        ["created_at"] = "2026-01-01T00:00:00.000000Z",
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
        ["done"] = false,
    });

    /// <inheritdoc/>
    protected override IEnumerable<string> FinishFrames(Reply reply)
    {
        yield return Line(Final(reply, string.Empty));
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> Terminator() => [];

    /// <inheritdoc/>
    protected override string MalformedFrame() => "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"tru\n";

    /// <inheritdoc/>
    protected override string InBandErrorFrame(Reply reply) =>
        Line(new JsonObject { ["error"] = reply.ErrorMessage ?? "an error was encountered while running the model: unexpected EOF" });

    private static JsonObject Final(Reply reply, string text) => new()
    {
        ["model"] = Model,
        ["created_at"] = "2026-01-01T00:00:00.000000Z",
        ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text },
        ["done_reason"] = reply.FinishReason ?? "stop",
        ["done"] = true,
        ["total_duration"] = 1_000_000,
        ["load_duration"] = 1_000,
        ["prompt_eval_count"] = 10,
        ["prompt_eval_duration"] = 1_000,
        ["eval_count"] = 5,
        ["eval_duration"] = 1_000,
    };

    private static string Line(JsonObject line) => line.ToJsonString() + "\n";
}
