using System.Text.Json.Nodes;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>
/// Anthropic Messages at <c>POST /v1/messages</c>: a JSON message, or the SSE events <c>message_start</c>,
/// <c>content_block_start</c>, <c>ping</c>, <c>content_block_delta</c>, <c>content_block_stop</c>, <c>message_delta</c>
/// (stop reason and usage) and <c>message_stop</c>; errors as <c>{"type":"error","error":{"type","message"},"request_id"}</c>,
/// also in-band as an <c>error</c> event (such as <c>overloaded_error</c>).
/// </summary>
public sealed class AnthropicProtocolServer : LoopbackProviderServer
{
    /// <summary>The model the server claims to be.</summary>
    public const string Model = "claude-sonnet-4-5";

    /// <inheritdoc/>
    protected override string ChatPath => "/v1/messages";

    /// <inheritdoc/>
    protected override string StreamContentType => "text/event-stream";

    /// <summary>Starts a server on a free loopback port.</summary>
    public static Task<AnthropicProtocolServer> StartAsync() => StartAsync(new AnthropicProtocolServer());

    /// <inheritdoc/>
    protected override string ErrorBody(Reply reply) => Error(reply).ToJsonString();

    /// <inheritdoc/>
    protected override string Completion(Reply reply, string text) => new JsonObject
    {
        ["id"] = "msg_01loopback",
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = Model,
        ["content"] = new JsonArray { new JsonObject { ["type"] = "text", ["text"] = text } },
        ["stop_reason"] = reply.FinishReason ?? "end_turn",
        ["stop_sequence"] = null,
        ["usage"] = new JsonObject { ["input_tokens"] = 10, ["output_tokens"] = 5 },
    }.ToJsonString();

    /// <inheritdoc/>
    protected override IEnumerable<string> Preamble(Reply reply)
    {
        yield return Event("message_start", new JsonObject
        {
            ["type"] = "message_start",
            ["message"] = new JsonObject
            {
                ["id"] = "msg_01loopback",
                ["type"] = "message",
                ["role"] = "assistant",
                ["model"] = Model,
                ["content"] = new JsonArray(),
                ["stop_reason"] = null,
                ["stop_sequence"] = null,
                ["usage"] = new JsonObject { ["input_tokens"] = 10, ["output_tokens"] = 1 },
            },
        });
        yield return Event("content_block_start", new JsonObject
        {
            ["type"] = "content_block_start",
            ["index"] = 0,
            ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = string.Empty },
        });
        yield return Event("ping", new JsonObject { ["type"] = "ping" });
    }

    /// <inheritdoc/>
    protected override string ContentFrame(string text, int index) => Event("content_block_delta", new JsonObject
    {
        ["type"] = "content_block_delta",
        ["index"] = 0,
        ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = text },
    });

    /// <inheritdoc/>
    protected override IEnumerable<string> FinishFrames(Reply reply)
    {
        yield return Event("content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = 0 });
        yield return Event("message_delta", new JsonObject
        {
            ["type"] = "message_delta",
            ["delta"] = new JsonObject { ["stop_reason"] = reply.FinishReason ?? "end_turn", ["stop_sequence"] = null },
            ["usage"] = new JsonObject { ["output_tokens"] = 5 },
        });
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> Terminator()
    {
        yield return Event("message_stop", new JsonObject { ["type"] = "message_stop" });
    }

    /// <inheritdoc/>
    protected override string MalformedFrame() =>
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"tru\n\n";

    /// <inheritdoc/>
    protected override string InBandErrorFrame(Reply reply) => Event("error", Error(reply with
    {
        ErrorType = reply.ErrorType ?? "overloaded_error",
        ErrorMessage = reply.ErrorMessage ?? "Overloaded",
    }));

    private static JsonObject Error(Reply reply) => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject { ["type"] = reply.ErrorType, ["message"] = reply.ErrorMessage },
        ["request_id"] = "req_011loopback",
    };

    private static string Event(string name, JsonObject data) => $"event: {name}\ndata: {data.ToJsonString()}\n\n";
}
