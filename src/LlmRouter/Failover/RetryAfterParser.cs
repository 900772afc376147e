using System.Globalization;

namespace LlmRouter;

/// <summary>Reads the wait a provider asks for from its rate-limit headers.</summary>
internal static class RetryAfterParser
{
    /// <summary>Parses <c>retry-after-ms</c> (milliseconds, as OpenAI and Azure send) or <c>retry-after</c> (seconds or an HTTP date).</summary>
    /// <param name="retryAfterMs">The <c>retry-after-ms</c> header value, if any.</param>
    /// <param name="retryAfter">The <c>retry-after</c> header value, if any.</param>
    /// <param name="now">The current time, for an HTTP-date value.</param>
    /// <returns>The wait, never negative; <see langword="null"/> when neither header holds a usable value.</returns>
    public static TimeSpan? Parse(string? retryAfterMs, string? retryAfter, DateTimeOffset now)
    {
        if (!string.IsNullOrWhiteSpace(retryAfterMs) &&
            double.TryParse(retryAfterMs, NumberStyles.Float, CultureInfo.InvariantCulture, out double ms) &&
            double.IsFinite(ms) && ms >= 0 && ms < TimeSpan.MaxValue.TotalMilliseconds)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        if (string.IsNullOrWhiteSpace(retryAfter))
        {
            return null;
        }

        if (double.TryParse(retryAfter, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds))
        {
            return double.IsFinite(seconds) && seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds
                ? TimeSpan.FromSeconds(seconds)
                : null;
        }

        if (DateTimeOffset.TryParseExact(retryAfter.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset date))
        {
            TimeSpan wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }
}
