using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A real Kestrel server on a free loopback port that speaks the OpenAI Chat Completions wire format at
/// <c>POST /v1/chat/completions</c>. It plays a script, one reply per request: an error (status, OpenAI error body,
/// extra headers) or a success (a JSON completion, or an SSE stream when the request asks for one). Counts requests.
/// </summary>
public sealed class LoopbackOpenAiServer : IAsyncDisposable
{
    private const string Model = "gpt-4o-mini";

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<Reply> _script = new();
    private readonly ConcurrentQueue<string> _requestBodies = new();
    private readonly CancellationTokenSource _stopping = new();
    private int _requestCount;
    private int _unscriptedCount;
    private int _disposed;

    private LoopbackOpenAiServer(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>Gets the server's root address, such as <c>http://127.0.0.1:54321</c> (no trailing slash).</summary>
    public Uri BaseAddress { get; }

    /// <summary>Gets the address to give the OpenAI SDK as its endpoint: <see cref="BaseAddress"/> plus <c>/v1</c>.</summary>
    public Uri OpenAiEndpoint => new(BaseAddress, "/v1");

    /// <summary>Gets how many chat-completion requests the server received.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <summary>Gets how many requests arrived after the script ran out (answered with a 500 the test did not plan).</summary>
    public int UnscriptedCount => Volatile.Read(ref _unscriptedCount);

    /// <summary>Gets the JSON bodies of the requests received, in order.</summary>
    public IReadOnlyList<string> RequestBodies => [.. _requestBodies];

    /// <summary>Starts a server on <c>http://127.0.0.1:0</c> and reads the port Kestrel bound.</summary>
    public static async Task<LoopbackOpenAiServer> StartAsync(CancellationToken cancellationToken = default)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        _ = builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.Urls.Clear();
        app.Urls.Add("http://127.0.0.1:0");

        LoopbackOpenAiServer? server = null;
        _ = app.MapPost("/v1/chat/completions", (RequestDelegate)(context => server!.HandleAsync(context)));
        await app.StartAsync(cancellationToken);

        IServerAddressesFeature addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()
            ?? throw new InvalidOperationException("Kestrel exposes no IServerAddressesFeature.");
        string address = addresses.Addresses.Single();
        server = new LoopbackOpenAiServer(app, new Uri(address.TrimEnd('/')));
        return server;
    }

    /// <summary>Queues a success: a JSON completion with the chunks joined, or an SSE stream of the chunks when the request streams.</summary>
    public LoopbackOpenAiServer Answers(params string[] chunks)
    {
        _script.Enqueue(new Reply(200, null, null, null, chunks, []));
        return this;
    }

    /// <summary>
    /// Queues a stream that sends the first <paramref name="chunksBeforeDrop"/> chunks, waits for <paramref name="dropWhen"/>,
    /// then aborts the connection (a TCP reset) without the rest, the finish reason or <c>[DONE]</c>.
    /// </summary>
    /// <remarks>
    /// Wait for the client to have read the chunks before completing <paramref name="dropWhen"/>: a reset can discard
    /// data the client has not read yet.
    /// </remarks>
    public LoopbackOpenAiServer StreamsThenDrops(int chunksBeforeDrop, Task dropWhen, params string[] chunks)
    {
        _script.Enqueue(new Reply(200, null, null, null, chunks, []) { DropAfterChunks = chunksBeforeDrop, DropWhen = dropWhen });
        return this;
    }

    /// <summary>Queues an error in OpenAI's format: <c>{"error":{"message":..,"type":..,"param":null,"code":..}}</c>, with extra headers.</summary>
    public LoopbackOpenAiServer Fails(int status, string message, string type, string? code = null, params (string Name, string Value)[] headers)
    {
        _script.Enqueue(new Reply(status, message, type, code, [], headers));
        return this;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // A reply still waiting (a drop the test never released) ends now rather than at the host's shutdown timeout.
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private async Task HandleAsync(HttpContext context)
    {
        _ = Interlocked.Increment(ref _requestCount);
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        string body = await reader.ReadToEndAsync(context.RequestAborted);
        _requestBodies.Enqueue(body);

        if (!_script.TryDequeue(out Reply? reply))
        {
            _ = Interlocked.Increment(ref _unscriptedCount);
            reply = new Reply(500, "LoopbackOpenAiServer: the script has no reply left for this request.", "server_error", null, [], []);
        }

        HttpResponse response = context.Response;
        foreach ((string name, string value) in reply.Headers)
        {
            response.Headers[name] = value;
        }

        if (reply.Status != 200)
        {
            await WriteErrorAsync(response, reply, context.RequestAborted);
            return;
        }

        bool stream = JsonNode.Parse(body)?["stream"]?.GetValue<bool>() == true;
        if (stream)
        {
            await WriteStreamAsync(context, reply, _stopping.Token);
        }
        else
        {
            await WriteCompletionAsync(response, string.Concat(reply.Chunks), context.RequestAborted);
        }
    }

    private static async Task WriteErrorAsync(HttpResponse response, Reply reply, CancellationToken cancellationToken)
    {
        var error = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = reply.Message,
                ["type"] = reply.Type,
                ["param"] = null,
                ["code"] = reply.Code,
            },
        };
        response.StatusCode = reply.Status;
        response.ContentType = "application/json";
        await response.WriteAsync(error.ToJsonString(), cancellationToken);
    }

    private static async Task WriteCompletionAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        var completion = new JsonObject
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
                    ["finish_reason"] = "stop",
                },
            },
            ["usage"] = Usage(),
        };
        response.StatusCode = 200;
        response.ContentType = "application/json";
        await response.WriteAsync(completion.ToJsonString(), cancellationToken);
    }

    private static async Task WriteStreamAsync(HttpContext context, Reply reply, CancellationToken stopping)
    {
        HttpResponse response = context.Response;
        CancellationToken cancellationToken = context.RequestAborted;
        string[] chunks = reply.Chunks;
        response.StatusCode = 200;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";

        for (int i = 0; i < chunks.Length; i++)
        {
            if (reply.DropAfterChunks == i)
            {
                await DropAsync(context, reply, stopping);
                return;
            }

            JsonObject delta = i == 0
                ? new JsonObject { ["role"] = "assistant", ["content"] = chunks[i] }
                : new JsonObject { ["content"] = chunks[i] };
            await WriteEventAsync(response, Chunk(delta, null), cancellationToken);
        }

        if (reply.DropAfterChunks == chunks.Length)
        {
            await DropAsync(context, reply, stopping);
            return;
        }

        await WriteEventAsync(response, Chunk(new JsonObject(), "stop"), cancellationToken);

        // With stream_options.include_usage, OpenAI ends with a chunk that has no choices and the usage.
        JsonObject usage = Chunk(null, null);
        usage["usage"] = Usage();
        await WriteEventAsync(response, usage, cancellationToken);

        await response.WriteAsync("data: [DONE]\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private static async Task DropAsync(HttpContext context, Reply reply, CancellationToken stopping)
    {
        if (reply.DropWhen is { } dropWhen)
        {
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);
            try
            {
                await dropWhen.WaitAsync(waiting.Token);
            }
            catch (OperationCanceledException)
            {
                // The client went away or the server is stopping: drop now.
            }
        }

        context.Abort();
    }

    private static JsonObject Chunk(JsonObject? delta, string? finishReason)
    {
        var choices = new JsonArray();
        if (delta is not null)
        {
            choices.Add(new JsonObject
            {
                ["index"] = 0,
                ["delta"] = delta,
                ["logprobs"] = null,
                ["finish_reason"] = finishReason,
            });
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

    private static JsonObject Usage() => new()
    {
        ["prompt_tokens"] = 10,
        ["completion_tokens"] = 5,
        ["total_tokens"] = 15,
    };

    private static async Task WriteEventAsync(HttpResponse response, JsonObject chunk, CancellationToken cancellationToken)
    {
        await response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", cancellationToken);
        await response.Body.FlushAsync(cancellationToken);
    }

    private sealed record Reply(int Status, string? Message, string? Type, string? Code, string[] Chunks, (string Name, string Value)[] Headers)
    {
        public int? DropAfterChunks { get; init; }

        public Task? DropWhen { get; init; }
    }
}
