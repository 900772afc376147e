using Microsoft.Extensions.AI;
using Microsoft.ML.Tokenizers;

namespace LlmRouter;

/// <summary>
/// Estimates a request's input tokens: a character count first (free), the o200k_base tokenizer only when that count
/// cannot settle whether the request fits a limit.
/// </summary>
/// <remarks>
/// Uses Microsoft.ML.Tokenizers with its o200k_base data package rather than a tokenizer of our own. o200k_base is
/// OpenAI's current encoding; other providers' tokenizers differ by some percent, so windows are checked with the
/// margin of <see cref="UpperBound"/> until the exact count is needed.
/// </remarks>
internal static class TokenEstimator
{
    /// <summary>Tokens the chat format adds per message (role and separators), as OpenAI documents for its chat models.</summary>
    public const int FramingTokensPerMessage = 4;

    private static readonly Lazy<Tokenizer> s_tokenizer = new(static () => TiktokenTokenizer.CreateForEncoding("o200k_base"));

    /// <summary>Counts the characters of everything the request sends as text: messages, instructions and tool definitions.</summary>
    public static long CountCharacters(IList<ChatMessage> messages, ChatOptions? options)
    {
        long characters = 0;
        for (int i = 0; i < messages.Count; i++)
        {
            IList<AIContent> contents = messages[i].Contents;
            for (int j = 0; j < contents.Count; j++)
            {
                if (contents[j] is TextContent text)
                {
                    characters += text.Text.Length;
                }
            }
        }

        if (options is not null)
        {
            characters += options.Instructions?.Length ?? 0;
            if (options.Tools is { Count: > 0 } tools)
            {
                for (int i = 0; i < tools.Count; i++)
                {
                    characters += ToolText(tools[i]).Length;
                }
            }
        }

        return characters;
    }

    /// <summary>The quick estimate: about four characters a token, plus the framing.</summary>
    public static long Quick(long characters, int messageCount) => (characters / 4) + ((long)messageCount * FramingTokensPerMessage);

    /// <summary>
    /// A bound no tokenizer of the byte-pair family exceeds: every token covers at least one UTF-8 byte, and a UTF-16
    /// character is at most three bytes.
    /// </summary>
    public static long UpperBound(long characters, int messageCount) => (characters * 3) + ((long)messageCount * FramingTokensPerMessage);

    /// <summary>Counts the request's tokens with the o200k_base tokenizer, plus the framing.</summary>
    public static long Exact(IList<ChatMessage> messages, ChatOptions? options)
    {
        Tokenizer tokenizer = s_tokenizer.Value;
        long tokens = (long)messages.Count * FramingTokensPerMessage;
        for (int i = 0; i < messages.Count; i++)
        {
            IList<AIContent> contents = messages[i].Contents;
            for (int j = 0; j < contents.Count; j++)
            {
                if (contents[j] is TextContent { Text.Length: > 0 } text)
                {
                    tokens += tokenizer.CountTokens(text.Text);
                }
            }
        }

        if (options is not null)
        {
            if (options.Instructions is { Length: > 0 } instructions)
            {
                tokens += tokenizer.CountTokens(instructions);
            }

            if (options.Tools is { Count: > 0 } tools)
            {
                for (int i = 0; i < tools.Count; i++)
                {
                    tokens += tokenizer.CountTokens(ToolText(tools[i]));
                }
            }
        }

        return tokens;
    }

    /// <summary>Counts one text's tokens with the o200k_base tokenizer.</summary>
    public static int Count(string text) => s_tokenizer.Value.CountTokens(text);

    private static string ToolText(AITool tool) => tool is AIFunctionDeclaration function
        ? string.Concat(function.Name, function.Description, function.JsonSchema.GetRawText())
        : string.Concat(tool.Name, tool.Description);
}
