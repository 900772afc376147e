using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.TestSupport;

/// <summary>
/// A fake endpoint that plays a script, one step per call: answer, throw, hang until cancelled, or stream updates
/// (optionally failing after some of them). Records every call and every stream's disposal.
/// </summary>
public sealed class ScriptedChatClient : IChatClient
{
    private readonly Queue<ScriptStep> _script = new();
    private readonly object _gate = new();
    private ScriptStep? _fallback;

    public ScriptedChatClient(string name) => Name = name;

    public string Name { get; }

    public int Calls { get; private set; }

    public List<ChatOptions?> ReceivedOptions { get; } = [];

    public List<CancellationToken> ReceivedTokens { get; } = [];

    public int StreamsOpened { get; private set; }

    public int StreamsDisposed { get; private set; }

    public bool Disposed { get; private set; }

    /// <summary>Adds a step; the last step added with <paramref name="always"/> repeats once the queue is empty.</summary>
    public ScriptedChatClient Then(ScriptStep step, bool always = false)
    {
        lock (_gate)
        {
            if (always)
            {
                _fallback = step;
            }
            else
            {
                _script.Enqueue(step);
            }
        }

        return this;
    }

    public ScriptedChatClient Answers(string text, bool always = false) => Then(ScriptStep.Answer(text), always);

    public ScriptedChatClient Throws(Exception exception, bool always = false) => Then(ScriptStep.Throw(exception), always);

    public ScriptedChatClient Hangs(bool always = false) => Then(ScriptStep.Hang(), always);

    /// <summary>Hangs without honouring the token (as some SDKs read) until <paramref name="release"/> completes, then throws.</summary>
    public ScriptedChatClient HangsIgnoringCancellation(Task release) => Then(new ScriptStep(StepKind.DeafHang) { Release = release });

    public ScriptedChatClient Streams(params string[] chunks) => Then(ScriptStep.Stream(chunks));

    public async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ScriptStep step = Next(options, cancellationToken);
        switch (step.Kind)
        {
            case StepKind.Throw:
                throw step.Exception!;
            case StepKind.Hang:
                await Task.Delay(Timeout.Infinite, cancellationToken);
                throw new InvalidOperationException("unreachable");
            case StepKind.DeafHang:
                await step.Release!;
                throw new IOException("The deaf hang was released.");
            default:
                var response = new ChatResponse(new ChatMessage(ChatRole.Assistant, step.Text ?? string.Join(string.Empty, step.Chunks ?? [])))
                {
                    FinishReason = step.FinishReason ?? ChatFinishReason.Stop,
                    Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 5, TotalTokenCount = 15 },
                };
                return response;
        }
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ScriptStep step = Next(options, cancellationToken);
        return Play(step, cancellationToken);
    }

    private async IAsyncEnumerable<ChatResponseUpdate> Play(ScriptStep step, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            StreamsOpened++;
        }

        try
        {
            if (step.Kind == StepKind.Throw)
            {
                throw step.Exception!;
            }

            if (step.Kind == StepKind.Hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            if (step.LeadingRoleUpdate)
            {
                yield return new ChatResponseUpdate { Role = ChatRole.Assistant };
            }

            string[] chunks = step.Chunks ?? [step.Text ?? string.Empty];
            for (int i = 0; i < chunks.Length; i++)
            {
                if (step.FailAfterChunks == i)
                {
                    throw step.Exception!;
                }

                if (step.HangAfterChunks == i)
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                cancellationToken.ThrowIfCancellationRequested(); // as real SDKs do between chunks
                yield return new ChatResponseUpdate(ChatRole.Assistant, chunks[i]);
            }

            if (step.FailAfterChunks == chunks.Length)
            {
                throw step.Exception!;
            }

            if (step.OmitFinishReason)
            {
                yield break; // ends cleanly, but cut short: no finish reason
            }

            yield return new ChatResponseUpdate
            {
                Role = ChatRole.Assistant,
                FinishReason = step.FinishReason ?? ChatFinishReason.Stop,
                Contents = [new UsageContent(new UsageDetails { InputTokenCount = 10, OutputTokenCount = chunks.Length })],
            };
        }
        finally
        {
            lock (_gate)
            {
                StreamsDisposed++;
            }
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose() => Disposed = true;

    private ScriptStep Next(ChatOptions? options, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            Calls++;
            ReceivedOptions.Add(options);
            ReceivedTokens.Add(cancellationToken);
            if (_script.TryDequeue(out ScriptStep? step))
            {
                return step;
            }

            return _fallback ?? throw new InvalidOperationException($"Endpoint '{Name}' was called {Calls} time(s); its script has no step left.");
        }
    }

    public enum StepKind
    {
        Answer,
        Throw,
        Hang,
        Stream,
        DeafHang,
    }

    public sealed record ScriptStep(StepKind Kind)
    {
        public string? Text { get; init; }

        public string[]? Chunks { get; init; }

        public Exception? Exception { get; init; }

        public Task? Release { get; init; }

        public int? FailAfterChunks { get; init; }

        public int? HangAfterChunks { get; init; }

        public bool LeadingRoleUpdate { get; init; }

        public ChatFinishReason? FinishReason { get; init; }

        public bool OmitFinishReason { get; init; }

        public static ScriptStep Answer(string text) => new(StepKind.Answer) { Text = text };

        public static ScriptStep Throw(Exception exception) => new(StepKind.Throw) { Exception = exception };

        public static ScriptStep Hang() => new(StepKind.Hang);

        public static ScriptStep Stream(params string[] chunks) => new(StepKind.Stream) { Chunks = chunks };

        public static ScriptStep StreamFailingAfter(int chunks, Exception exception, params string[] text) =>
            new(StepKind.Stream) { Chunks = text, FailAfterChunks = chunks, Exception = exception };
    }
}
