using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>What strategies may look at when they rank a request's candidates.</summary>
internal readonly struct RoutingRequest
{
    public RoutingRequest(IList<ChatMessage> messages, ChatOptions? options, bool streaming, long now)
    {
        Messages = messages;
        Options = options;
        Streaming = streaming;
        Now = now;
    }

    public IList<ChatMessage> Messages { get; }

    public ChatOptions? Options { get; }

    public bool Streaming { get; }

    public long Now { get; }

    /// <summary>A cheap estimate of the prompt's tokens: about four characters a token, plus a few per message.</summary>
    public int EstimatePromptTokens()
    {
        // Indexed loops: enumerating through IList boxes an enumerator per list.
        long characters = 0;
        IList<ChatMessage> messages = Messages;
        for (int i = 0; i < messages.Count; i++)
        {
            characters += 16; // role and framing
            IList<AIContent> contents = messages[i].Contents;
            for (int j = 0; j < contents.Count; j++)
            {
                if (contents[j] is TextContent text)
                {
                    characters += text.Text.Length;
                }
            }
        }

        if (Options?.Instructions is { } instructions)
        {
            characters += instructions.Length;
        }

        return (int)Math.Min(int.MaxValue, characters / 4);
    }
}
