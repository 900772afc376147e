using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// A cached answer: a response or the updates of a complete stream, in the entry's own copies that no caller ever
/// holds; with the collision guard of its key, the endpoint that served it, and when it expires.
/// </summary>
internal sealed class CacheEntry
{
    public CacheEntry(CacheKey key, string endpoint, ChatResponse? response, ChatResponseUpdate[]? updates, DateTimeOffset expiresAt)
    {
        Check = key.Check;
        Length = key.Length;
        Endpoint = endpoint;
        Response = response;
        Updates = updates;
        ExpiresAt = expiresAt;
        long size = 256;
        if (response is not null)
        {
            foreach (ChatMessage message in response.Messages)
            {
                size += ResponseCopier.EstimateSize(message.Contents);
            }
        }

        foreach (ChatResponseUpdate update in updates ?? [])
        {
            size += 64 + ResponseCopier.EstimateSize(update.Contents);
        }

        Size = size;
    }

    public ulong Check { get; }

    public int Length { get; }

    public string Endpoint { get; }

    public ChatResponse? Response { get; }

    public ChatResponseUpdate[]? Updates { get; }

    public DateTimeOffset ExpiresAt { get; }

    /// <summary>Gets the estimated bytes the entry holds, counted against <see cref="CacheOptions.SizeLimitBytes"/>.</summary>
    public long Size { get; }

    /// <summary>Whether the entry belongs to this key (the collision guard) and is still fresh.</summary>
    public bool Matches(CacheKey key, DateTimeOffset now) => Check == key.Check && Length == key.Length && ExpiresAt > now;
}
