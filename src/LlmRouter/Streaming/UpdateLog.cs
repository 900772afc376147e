using System.Buffers;
using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// The updates a stream delivered to its caller, kept for the partial text and usage of an interruption and for a
/// continuation; backed by pooled arrays, so that keeping them allocates nothing per update.
/// </summary>
internal sealed class UpdateLog : IDisposable
{
    private ChatResponseUpdate[] _items = ArrayPool<ChatResponseUpdate>.Shared.Rent(16);

    public int Count { get; private set; }

    public ChatResponseUpdate this[int index] =>
        (uint)index < (uint)Count ? _items[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Add(ChatResponseUpdate update)
    {
        if (Count == _items.Length)
        {
            ChatResponseUpdate[] larger = ArrayPool<ChatResponseUpdate>.Shared.Rent(_items.Length * 2);
            Array.Copy(_items, larger, Count);
            ArrayPool<ChatResponseUpdate>.Shared.Return(_items, clearArray: true);
            _items = larger;
        }

        _items[Count++] = update;
    }

    /// <summary>Returns the array to the pool, holding no update.</summary>
    public void Dispose()
    {
        if (_items.Length > 0)
        {
            ArrayPool<ChatResponseUpdate>.Shared.Return(_items, clearArray: true);
            _items = [];
            Count = 0;
        }
    }
}
