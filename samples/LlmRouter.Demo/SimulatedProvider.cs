using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Demo;

/// <summary>An in-process stand-in for a provider: it answers, or fails the way real providers do, per a plan of call numbers.</summary>
internal sealed class SimulatedProvider(string name, Func<int, HttpStatusCode?> failureOnCall) : IChatClient
{
    private int _calls;

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        if (Fail() is { } exception)
        {
            return Task.FromException<ChatResponse>(exception);
        }

        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, $"Hello from {name}."))
        {
            FinishReason = ChatFinishReason.Stop,
            Usage = new UsageDetails { InputTokenCount = 12, OutputTokenCount = 4 },
        });
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (Fail() is { } exception)
        {
            throw exception;
        }

        foreach (string word in new[] { "Streamed ", "hello ", "from ", name, "." })
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, word);
        }

        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private HttpRequestException? Fail()
    {
        int call = Interlocked.Increment(ref _calls);
        return failureOnCall(call) is { } status
            ? new HttpRequestException($"{name} answered {(int)status}", null, status)
            : null;
    }
}
