namespace LlmRouter;

/// <summary>What the router does when a streamed response fails after some of its output already reached the caller.</summary>
public enum MidStreamPolicy
{
    /// <summary>
    /// End the stream with <see cref="StreamInterruptedException"/>, which carries the partial text, the usage so far and
    /// the endpoint. The default: the caller decides what to do with an incomplete answer.
    /// </summary>
    Throw = 0,

    /// <summary>
    /// When only text reached the caller (no tool call was being streamed), ask the next endpoint that supports
    /// continuation (<see cref="EndpointOptions.SupportsContinuation"/>) to continue the partial answer, and stream only
    /// its new text. Otherwise, or when no endpoint can continue, behave as <see cref="Throw"/>.
    /// </summary>
    Continue = 1,
}
