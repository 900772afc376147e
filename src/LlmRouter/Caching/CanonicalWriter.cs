using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace LlmRouter;

/// <summary>
/// An append-only byte buffer for the canonical form of a request: every value tagged, strings length-prefixed in
/// UTF-8, numbers in fixed-width little-endian, JSON with object keys in ordinal order. Two requests that mean the same
/// thing write the same bytes; any change to a covered field changes them.
/// </summary>
/// <remarks>One buffer per thread is reused, so computing a key allocates nothing for ordinary requests.</remarks>
internal sealed class CanonicalWriter
{
    private const int KeepAtMost = 1 << 20;

    [ThreadStatic]
    private static CanonicalWriter? t_cached;

    private byte[] _buffer = new byte[4096];
    private int _length;

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(0, _length);

    /// <summary>Takes this thread's writer, empty.</summary>
    public static CanonicalWriter Rent()
    {
        CanonicalWriter writer = t_cached ?? new CanonicalWriter();
        t_cached = null;
        writer._length = 0;
        return writer;
    }

    /// <summary>Gives the writer back for the thread's next key, unless it grew very large.</summary>
    public static void Return(CanonicalWriter writer)
    {
        if (writer._buffer.Length <= KeepAtMost)
        {
            t_cached = writer;
        }
    }

    public void Tag(byte tag) => Reserve(1)[0] = tag;

    public void Bool(bool value) => Reserve(1)[0] = value ? (byte)1 : (byte)0;

    public void Int(long value) => BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);

    public void Double(double value) => BinaryPrimitives.WriteDoubleLittleEndian(Reserve(8), value);

    /// <summary>An optional number: a presence byte, then the value.</summary>
    public void Int(long? value)
    {
        Bool(value.HasValue);
        if (value is { } number)
        {
            Int(number);
        }
    }

    public void Double(double? value)
    {
        Bool(value.HasValue);
        if (value is { } number)
        {
            Double(number);
        }
    }

    /// <summary>A string: -1 for null, else its UTF-8 length and bytes.</summary>
    public void String(string? value)
    {
        if (value is null)
        {
            Int(-1);
            return;
        }

        int max = Encoding.UTF8.GetMaxByteCount(value.Length);
        int lengthAt = _length;
        _ = Reserve(8);
        int written = Encoding.UTF8.GetBytes(value, Reserve(max));
        _length -= max - written;
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(lengthAt, 8), written);
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        Int(value.Length);
        value.CopyTo(Reserve(value.Length));
    }

    /// <summary>A JSON value with the keys of every object in ordinal order, so that key order never changes the key.</summary>
    public void Json(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                Tag((byte)'{');
                int count = 0;
                foreach (JsonProperty _ in element.EnumerateObject())
                {
                    count++;
                }

                JsonProperty[] properties = ArrayPool<JsonProperty>.Shared.Rent(count);
                try
                {
                    int i = 0;
                    foreach (JsonProperty property in element.EnumerateObject())
                    {
                        properties[i++] = property;
                    }

                    Array.Sort(properties, 0, count, PropertyNameComparer.Instance);
                    Int(count);
                    for (i = 0; i < count; i++)
                    {
                        String(properties[i].Name);
                        Json(properties[i].Value);
                    }
                }
                finally
                {
                    Array.Clear(properties, 0, count);
                    ArrayPool<JsonProperty>.Shared.Return(properties);
                }

                break;
            case JsonValueKind.Array:
                Tag((byte)'[');
                Int(element.GetArrayLength());
                foreach (JsonElement item in element.EnumerateArray())
                {
                    Json(item);
                }

                break;
            case JsonValueKind.String:
                Tag((byte)'"');
                String(element.GetString());
                break;
            default:
                Tag((byte)'#');
                String(element.GetRawText()); // numbers, true, false, null: their literal text
                break;
        }
    }

    private Span<byte> Reserve(int count)
    {
        if (_length + count > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
        }

        Span<byte> slot = _buffer.AsSpan(_length, count);
        _length += count;
        return slot;
    }

    private sealed class PropertyNameComparer : IComparer<JsonProperty>
    {
        public static readonly PropertyNameComparer Instance = new();

        public int Compare(JsonProperty x, JsonProperty y) => string.CompareOrdinal(x.Name, y.Name);
    }
}
