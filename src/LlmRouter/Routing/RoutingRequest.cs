using System.Runtime.InteropServices;
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
        long characters = 0;
        IList<ChatMessage> messages = Messages;
        if (messages is List<ChatMessage> list)
        {
            // The usual list, read as a span: no interface call per message.
            foreach (ChatMessage message in CollectionsMarshal.AsSpan(list))
            {
                characters += 16 + Characters(message.Contents); // role and framing
            }
        }
        else
        {
            // Indexed loops: enumerating through IList boxes an enumerator per list.
            for (int i = 0; i < messages.Count; i++)
            {
                characters += 16 + Characters(messages[i].Contents);
            }
        }

        if (Options?.Instructions is { } instructions)
        {
            characters += instructions.Length;
        }

        return (int)Math.Min(int.MaxValue, characters / 4);
    }

    private static long Characters(IList<AIContent> contents)
    {
        long characters = 0;
        if (contents is List<AIContent> list)
        {
            foreach (AIContent content in CollectionsMarshal.AsSpan(list))
            {
                characters += content is TextContent text ? text.Text.Length : 0;
            }

            return characters;
        }

        for (int j = 0; j < contents.Count; j++)
        {
            characters += contents[j] is TextContent text ? text.Text.Length : 0;
        }

        return characters;
    }
}
