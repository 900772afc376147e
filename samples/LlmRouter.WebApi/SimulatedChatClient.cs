using System.Net;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.WebApi;

/// <summary>An in-process provider for running the sample without keys: answers after a random delay and now and then fails like a real one.</summary>
internal sealed class SimulatedChatClient(string name, TimeSpan medianLatency, double failureShare) : IChatClient
{
    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        await DelayOrFailAsync(cancellationToken);
        string text = Answer(messages);
        return new ChatResponse(new ChatMessage(ChatRole.Assistant, text))
        {
            FinishReason = ChatFinishReason.Stop,
            ModelId = name,
            Usage = new UsageDetails { InputTokenCount = 20, OutputTokenCount = text.Length / 4 },
        };
    }

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await DelayOrFailAsync(cancellationToken);
        foreach (string word in Answer(messages).Split(' '))
        {
            yield return new ChatResponseUpdate(ChatRole.Assistant, word + " ") { ModelId = name };
            await Task.Delay(30, cancellationToken);
        }

        yield return new ChatResponseUpdate { FinishReason = ChatFinishReason.Stop, ModelId = name };
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private async Task DelayOrFailAsync(CancellationToken cancellationToken)
    {
        await Task.Delay(medianLatency * (0.5 + Random.Shared.NextDouble()), cancellationToken);
        if (Random.Shared.NextDouble() < failureShare)
        {
            throw new HttpRequestException($"{name}: 503 Service Unavailable (simulated)", null, HttpStatusCode.ServiceUnavailable);
        }
    }

    private string Answer(IEnumerable<ChatMessage> messages) =>
        $"[{name}] You said: {messages.LastOrDefault(m => m.Role == ChatRole.User)?.Text ?? "nothing"}. This answer is simulated; set OPENAI_API_KEY for a real one.";
}
