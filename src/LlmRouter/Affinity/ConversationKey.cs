using System.IO.Hashing;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>The 64-bit keys that recognise a conversation across its turns, and the ids of state a provider holds.</summary>
internal static class ConversationKey
{
    [ThreadStatic]
    private static XxHash3? t_hash;

    /// <summary>No key: the request belongs to no recognisable conversation.</summary>
    public const ulong None = 0;

    /// <summary>
    /// The key of the request's conversation: the hint's <see cref="RoutingHints.ConversationKey"/>, or the hash of its
    /// leading messages (every message up to and including the first user message); <see cref="None"/> when it has neither.
    /// </summary>
    /// <param name="messages">The request's messages.</param>
    /// <param name="hints">The request's hints.</param>
    /// <param name="returning">Whether the request continues a conversation: a key was given, or it holds an assistant turn.</param>
    public static ulong Of(IList<ChatMessage> messages, RoutingHints? hints, out bool returning)
    {
        if (hints?.ConversationKey is { Length: > 0 } given)
        {
            returning = true;
            return NonZero(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(given.AsSpan()), seed: 1));
        }

        returning = false;
        XxHash3 hash = t_hash ??= new XxHash3();
        hash.Reset();
        bool any = false;
        for (int i = 0; i < messages.Count; i++)
        {
            ChatMessage message = messages[i];
            if (message.Role == ChatRole.Assistant)
            {
                returning = true;
            }

            if (any)
            {
                continue; // past the leading messages: only looking for an assistant turn
            }

            AppendText(hash, message.Role.Value);
            IList<AIContent> contents = message.Contents;
            for (int j = 0; j < contents.Count; j++) // indexed: enumerating an IList boxes its enumerator
            {
                if (contents[j] is TextContent text)
                {
                    AppendText(hash, text.Text);
                }
            }

            any = message.Role == ChatRole.User;
        }

        return any ? NonZero(hash.GetCurrentHashAsUInt64()) : None;
    }

    /// <summary>Whether the request continues a conversation: it carries a conversation key, or an assistant turn.</summary>
    public static bool IsReturning(IList<ChatMessage> messages, RoutingHints? hints)
    {
        if (hints?.ConversationKey is { Length: > 0 })
        {
            return true;
        }

        for (int i = 0; i < messages.Count; i++)
        {
            if (messages[i].Role == ChatRole.Assistant)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The key of a provider-held conversation id.</summary>
    public static ulong OfConversationId(string id) => NonZero(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(id.AsSpan()), seed: 2));

    /// <summary>The key of a continuation token.</summary>
    public static ulong OfContinuationToken(ResponseContinuationToken token) => NonZero(XxHash3.HashToUInt64(token.ToBytes().Span, seed: 3));

    private static void AppendText(XxHash3 hash, string? text)
    {
        hash.Append(MemoryMarshal.AsBytes((text ?? string.Empty).AsSpan()));
        hash.Append([0, 0]); // a separator that no UTF-16 text contains: "ab"+"c" differs from "a"+"bc"
    }

    private static ulong NonZero(ulong value) => value == None ? 1 : value;
}
