using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>
/// A real Kestrel server on a free port of 127.0.0.1 that speaks one provider's wire protocol, faithfully enough for
/// that provider's real SDK. It plays a script, one <see cref="Reply"/> per request, then a default reply; counts hits.
/// </summary>
/// <remarks>
/// A derived class writes the provider's formats; this class owns the timing and wire faults (delays, stalls, drops,
/// malformed chunks, missing finish reasons), so that every provider gets the same faults injected the same way.
/// </remarks>
public abstract class LoopbackProviderServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<Reply> _script = new();
    private readonly ConcurrentQueue<string> _requestBodies = new();
    private readonly CancellationTokenSource _stopping = new();
    private WebApplication? _app;
    private Reply _default = Reply.Answer("unscripted");
    private int _requestCount;
    private int _disposed;

    /// <summary>Gets the server's root address, such as <c>http://127.0.0.1:54321/</c>.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Gets how many chat requests reached the server.</summary>
    public int RequestCount => Volatile.Read(ref _requestCount);

    /// <summary>Gets the bodies of the chat requests received, in order.</summary>
    public IReadOnlyList<string> RequestBodies => [.. _requestBodies];

    /// <summary>Gets the headers of every chat request received, in order.</summary>
    public ConcurrentQueue<IHeaderDictionary> RequestHeaders { get; } = new();

    /// <summary>Gets the path the provider's chat API answers on.</summary>
    protected abstract string ChatPath { get; }

    /// <summary>Gets the content type of a stream.</summary>
    protected abstract string StreamContentType { get; }

    /// <summary>Starts <paramref name="server"/> on <c>http://127.0.0.1:0</c>.</summary>
    public static async Task<T> StartAsync<T>(T server)
        where T : LoopbackProviderServer
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        _ = builder.Logging.ClearProviders();
        WebApplication app = builder.Build();
        app.Urls.Clear();
        app.Urls.Add("http://127.0.0.1:0");
        _ = app.MapPost(server.ChatPath, (RequestDelegate)server.HandleAsync);
        await app.StartAsync();
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        server._app = app;
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    /// <summary>Queues replies, played one per request.</summary>
    public LoopbackProviderServer Enqueue(params Reply[] replies)
    {
        foreach (Reply reply in replies)
        {
            _script.Enqueue(reply);
        }

        return this;
    }

    /// <summary>Sets the reply played once the script is empty.</summary>
    public LoopbackProviderServer Otherwise(Reply reply)
    {
        _default = reply;
        return this;
    }

    /// <summary>Forgets the script, the default reply and the counts: the server is as new for the next test.</summary>
    public void Reset()
    {
        _script.Clear();
        _requestBodies.Clear();
        RequestHeaders.Clear();
        _default = Reply.Answer("unscripted");
        Volatile.Write(ref _requestCount, 0);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0 || _app is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Whether the request body asks for a stream.</summary>
    protected virtual bool IsStreaming(JsonNode? body) => body?["stream"]?.GetValue<bool>() == true;

    /// <summary>Writes the provider's error body for a failing reply (the status is already set).</summary>
    protected abstract string ErrorBody(Reply reply);

    /// <summary>Writes a non-streamed completion.</summary>
    protected abstract string Completion(Reply reply, string text);

    /// <summary>The frames sent before any content (Anthropic's <c>message_start</c> and <c>content_block_start</c>).</summary>
    protected abstract IEnumerable<string> Preamble(Reply reply);

    /// <summary>The frame that carries one content chunk.</summary>
    protected abstract string ContentFrame(string text, int index);

    /// <summary>The frames that carry the finish reason and the usage.</summary>
    protected abstract IEnumerable<string> FinishFrames(Reply reply);

    /// <summary>The frames that end the stream (<c>[DONE]</c>, <c>message_stop</c>); Ollama has none.</summary>
    protected abstract IEnumerable<string> Terminator();

    /// <summary>A frame that is not what the SDK can parse.</summary>
    protected abstract string MalformedFrame();

    /// <summary>The frame that reports an error inside the stream.</summary>
    protected abstract string InBandErrorFrame(Reply reply);

    private async Task HandleAsync(HttpContext context)
    {
        _ = Interlocked.Increment(ref _requestCount);
        RequestHeaders.Enqueue(new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)));
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        string body = await reader.ReadToEndAsync(context.RequestAborted);
        _requestBodies.Enqueue(body);
        Reply reply = _script.TryDequeue(out Reply? next) ? next : _default;

        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        CancellationToken ct = lifetime.Token;
        try
        {
            await ServeAsync(context, reply, IsStreaming(JsonNode.Parse(body)), ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away (its timeout, the router's) or the server is stopping.
            context.Abort();
        }
    }

    private async Task ServeAsync(HttpContext context, Reply reply, bool stream, CancellationToken ct)
    {
        HttpResponse response = context.Response;
        await Task.Delay(reply.HeaderDelay, ct);
        if (reply.DropAfterChunks == 0 && !stream)
        {
            context.Abort(); // the connection dies before any response: a reset, to the client
            return;
        }

        foreach ((string name, string value) in reply.Headers)
        {
            response.Headers[name] = value;
        }

        response.StatusCode = reply.Status;
        if (reply.Status != 200)
        {
            response.ContentType = "application/json";
            await response.WriteAsync(ErrorBody(reply), ct);
            return;
        }

        if (!stream)
        {
            response.ContentType = "application/json";
            await response.StartAsync(ct);
            await response.Body.FlushAsync(ct);
            await Task.Delay(reply.FirstChunkDelay, ct);
            string json = reply.MalformedAfterChunks is not null
                ? "{\"id\": \"broken\", \"choices\": [ {\"message\": "
                : Completion(reply, string.Concat(reply.Chunks));
            if (reply.StallAfterChunks is not null)
            {
                // Half the body, then nothing: the client waits for the rest.
                await response.WriteAsync(json[..(json.Length / 2)], ct);
                await response.Body.FlushAsync(ct);
                await Task.Delay(reply.StallFor, ct);
            }

            await response.WriteAsync(json, ct);
            return;
        }

        response.ContentType = StreamContentType;
        response.Headers.CacheControl = "no-cache";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        await response.StartAsync(ct);
        await response.Body.FlushAsync(ct);
        foreach (string frame in Preamble(reply))
        {
            await WriteFrameAsync(response, frame, ct);
        }

        await Task.Delay(reply.FirstChunkDelay, ct);
        for (int i = 0; i <= reply.Chunks.Count; i++)
        {
            if (reply.DropAfterChunks == i)
            {
                // Let the client read what it has before the reset, which could otherwise discard it.
                await Task.Delay(TimeSpan.FromMilliseconds(100), ct);
                context.Abort();
                return;
            }

            if (reply.StallAfterChunks == i)
            {
                await Task.Delay(reply.StallFor, ct);
            }

            if (reply.MalformedAfterChunks == i)
            {
                await WriteFrameAsync(response, MalformedFrame(), ct);
            }

            if (reply.InBandErrorAfterChunks == i)
            {
                await WriteFrameAsync(response, InBandErrorFrame(reply), ct);
                return;
            }

            if (i < reply.Chunks.Count)
            {
                await WriteFrameAsync(response, ContentFrame(reply.Chunks[i], i), ct);
            }
        }

        if (reply.OmitFinish)
        {
            return;
        }

        foreach (string frame in FinishFrames(reply))
        {
            await WriteFrameAsync(response, frame, ct);
        }

        if (!reply.OmitTerminator)
        {
            foreach (string frame in Terminator())
            {
                await WriteFrameAsync(response, frame, ct);
            }
        }
    }

    private static async Task WriteFrameAsync(HttpResponse response, string frame, CancellationToken ct)
    {
        await response.WriteAsync(frame, ct);
        await response.Body.FlushAsync(ct);
    }
}
