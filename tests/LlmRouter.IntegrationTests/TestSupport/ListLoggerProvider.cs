using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LlmRouter.IntegrationTests.TestSupport;

/// <summary>Keeps every log entry at warning level or above, to assert on.</summary>
public sealed class ListLoggerProvider : ILoggerProvider
{
    /// <summary>Gets the entries logged.</summary>
    public ConcurrentQueue<(string Category, LogLevel Level, string Message)> Entries { get; } = new();

    /// <inheritdoc/>
    public ILogger CreateLogger(string categoryName) => new ListLogger(this, categoryName);

    /// <inheritdoc/>
    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Entries.Enqueue((category, logLevel, formatter(state, exception)));
            }
        }
    }
}
