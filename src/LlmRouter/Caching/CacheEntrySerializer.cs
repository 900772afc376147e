using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The distributed cache's form of an entry: a small JSON envelope (format version, collision guard, endpoint, expiry)
/// around the response or the updates, serialized with <see cref="AIJsonUtilities"/>' source-generated contracts.
/// </summary>
internal static class CacheEntrySerializer
{
    private const int FormatVersion = 1;

    private static readonly JsonTypeInfo<ChatResponse> s_response =
        (JsonTypeInfo<ChatResponse>)AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ChatResponse));

    private static readonly JsonTypeInfo<ChatResponseUpdate> s_update =
        (JsonTypeInfo<ChatResponseUpdate>)AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(ChatResponseUpdate));

    public static byte[] Serialize(CacheEntry entry)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", FormatVersion);
            writer.WriteNumber("check", entry.Check);
            writer.WriteNumber("length", entry.Length);
            writer.WriteString("endpoint", entry.Endpoint);
            writer.WriteString("expiresAt", entry.ExpiresAt);
            if (entry.Response is { } response)
            {
                writer.WritePropertyName("response");
                JsonSerializer.Serialize(writer, response, s_response);
            }

            if (entry.Updates is { } updates)
            {
                writer.WriteStartArray("updates");
                foreach (ChatResponseUpdate update in updates)
                {
                    JsonSerializer.Serialize(writer, update, s_update);
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Reads an entry; <see langword="null"/> when it is of another format version, belongs to another request, or cannot be read.</summary>
    public static CacheEntry? Deserialize(byte[] data, CacheKey key)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(data);
            JsonElement root = document.RootElement;
            if (!root.TryGetProperty("v", out JsonElement version) || version.GetInt32() != FormatVersion ||
                root.GetProperty("check").GetUInt64() != key.Check || root.GetProperty("length").GetInt32() != key.Length)
            {
                return null;
            }

            ChatResponse? response = root.TryGetProperty("response", out JsonElement responseElement) ? responseElement.Deserialize(s_response) : null;
            ChatResponseUpdate[]? updates = null;
            if (root.TryGetProperty("updates", out JsonElement updatesElement))
            {
                updates = new ChatResponseUpdate[updatesElement.GetArrayLength()];
                int i = 0;
                foreach (JsonElement update in updatesElement.EnumerateArray())
                {
                    updates[i++] = update.Deserialize(s_update) ?? throw new JsonException("A cached update is null.");
                }
            }

            if ((response is null) == (updates is null))
            {
                return null;
            }

            return new CacheEntry(key, root.GetProperty("endpoint").GetString() ?? string.Empty, response, updates, root.GetProperty("expiresAt").GetDateTimeOffset());
        }
#pragma warning disable CA1031 // A damaged or foreign entry is a miss, never a failure, whatever a constructor throws on it.
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }
}
