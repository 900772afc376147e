using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>A streamed attempt that reached its first output (or ended cleanly without any): its stream and the updates held back so far.</summary>
/// <param name="Endpoint">The endpoint that streams.</param>
/// <param name="Stream">The endpoint's stream, positioned after the last held update.</param>
/// <param name="Held">The updates read so far, the first output last.</param>
/// <param name="Open">Whether the stream produced output and may have more; <see langword="false"/> when it ended before any.</param>
internal sealed record GateAttempt(RouterEndpoint Endpoint, IAsyncEnumerator<ChatResponseUpdate> Stream, List<ChatResponseUpdate> Held, bool Open);
