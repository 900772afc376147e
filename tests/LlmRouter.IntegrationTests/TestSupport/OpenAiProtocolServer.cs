using System.Text.Json.Nodes;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>
/// OpenAI Chat Completions at <c>POST /v1/chat/completions</c>: a JSON completion, or SSE <c>data:</c> chunks (role,
/// content, finish reason, the usage chunk with no choices) ending with <c>data: [DONE]</c>; errors as
/// <c>{"error":{"message","type","param","code"}}</c>.
/// </summary>
public sealed class OpenAiProtocolServer : LoopbackProviderServer
{
    /// <summary>The model the server claims to be.</summary>
    public const string Model = "gpt-4o-mini";

    /// <summary>Gets the address to give the OpenAI SDK as its endpoint.</summary>
    public Uri Endpoint => new(BaseAddress, "v1");

    /// <inheritdoc/>
    protected override string ChatPath => "/v1/chat/completions";

    /// <inheritdoc/>
    protected override string StreamContentType => "text/event-stream";

    /// <summary>Starts a server on a free loopback port.</summary>
    public static Task<OpenAiProtocolServer> StartAsync() => StartAsync(new OpenAiProtocolServer());

    /// <inheritdoc/>
    protected override string ErrorBody(Reply reply) => new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["message"] = reply.ErrorMessage,
            ["type"] = reply.ErrorType,
            ["param"] = null,
            ["code"] = reply.ErrorCode,
        },
    }.ToJsonString();

    /// <inheritdoc/>
    protected override string Completion(Reply reply, string text) => new JsonObject
    {
        ["id"] = "chatcmpl-loopback",
        ["object"] = "chat.completion",
        ["created"] = 1_767_225_600,
        ["model"] = Model,
        ["choices"] = new JsonArray
        {
            new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = text, ["refusal"] = null },
                ["logprobs"] = null,
                ["finish_reason"] = reply.FinishReason ?? "stop",
            },
        },
        ["usage"] = Usage(),
    }.ToJsonString();

    /// <inheritdoc/>
    protected override IEnumerable<string> Preamble(Reply reply)
    {
        yield return Data(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = string.Empty, ["refusal"] = null }, null));
    }

    /// <inheritdoc/>
    protected override string ContentFrame(string text, int index) => Data(Chunk(new JsonObject { ["content"] = text }, null));

    /// <inheritdoc/>
    protected override IEnumerable<string> FinishFrames(Reply reply)
    {
        yield return Data(Chunk(new JsonObject(), reply.FinishReason ?? "stop"));

        // With stream_options.include_usage, the last chunk has no choices and carries the usage.
        JsonObject usage = Chunk(null, null);
        usage["usage"] = Usage();
        yield return Data(usage);
    }

    /// <inheritdoc/>
    protected override IEnumerable<string> Terminator()
    {
        yield return "data: [DONE]\n\n";
    }

    /// <inheritdoc/>
    protected override string MalformedFrame() => "data: {\"id\":\"chatcmpl-loopback\",\"choices\":[{\"delta\":{\"content\":\"tru\n\n";

    /// <inheritdoc/>
    protected override string InBandErrorFrame(Reply reply) => Data(new JsonObject
    {
        ["error"] = new JsonObject
        {
            ["message"] = reply.ErrorMessage ?? "The server had an error while processing your request.",
            ["type"] = reply.ErrorType ?? "server_error",
            ["param"] = null,
            ["code"] = reply.ErrorCode,
        },
    });

    private static string Data(JsonObject chunk) => "data: " + chunk.ToJsonString() + "\n\n";

    private static JsonObject Chunk(JsonObject? delta, string? finishReason)
    {
        var choices = new JsonArray();
        if (delta is not null)
        {
            choices.Add(new JsonObject { ["index"] = 0, ["delta"] = delta, ["logprobs"] = null, ["finish_reason"] = finishReason });
        }

        return new JsonObject
        {
            ["id"] = "chatcmpl-loopback",
            ["object"] = "chat.completion.chunk",
            ["created"] = 1_767_225_600,
            ["model"] = Model,
            ["choices"] = choices,
        };
    }

    private static JsonObject Usage() => new() { ["prompt_tokens"] = 10, ["completion_tokens"] = 5, ["total_tokens"] = 15 };
}
