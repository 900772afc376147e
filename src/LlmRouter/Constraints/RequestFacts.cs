using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>What a request needs from an endpoint, each fact worked out on first use: most requests need few of them.</summary>
internal struct RequestFacts
{
    private readonly IList<ChatMessage> _messages;
    private readonly ChatOptions? _options;
    private long _characters;
    private long _exactTokens;
    private sbyte _images;

    public RequestFacts(IList<ChatMessage> messages, ChatOptions? options)
    {
        _messages = messages;
        _options = options;
        _characters = -1;
        _exactTokens = -1;
        HasTools = options?.Tools is { Count: > 0 };
        HasJsonSchema = options?.ResponseFormat is ChatResponseFormatJson { Schema: not null };
        MaxOutputTokens = options?.MaxOutputTokens;
    }

    public bool HasTools { get; }

    public bool HasJsonSchema { get; }

    public int? MaxOutputTokens { get; }

    /// <summary>Gets a value indicating whether a message carries an image (inline data or a link).</summary>
    public bool HasImages
    {
        get
        {
            if (_images == 0)
            {
                _images = FindImage(_messages) ? (sbyte)1 : (sbyte)-1;
            }

            return _images > 0;
        }
    }

    /// <summary>Gets the quick estimate of the input tokens (about four characters a token).</summary>
    public long QuickTokens => TokenEstimator.Quick(Characters, _messages.Count);

    /// <summary>Gets the input tokens counted by the tokenizer; counted once, on first use.</summary>
    public long ExactTokens
    {
        get
        {
            if (_exactTokens < 0)
            {
                _exactTokens = TokenEstimator.Exact(_messages, _options);
            }

            return _exactTokens;
        }
    }

    private long Characters
    {
        get
        {
            if (_characters < 0)
            {
                _characters = TokenEstimator.CountCharacters(_messages, _options);
            }

            return _characters;
        }
    }

    /// <summary>Whether the input and the output cap fit the window: by the character bound when it settles it, else by the tokenizer.</summary>
    public bool Fits(int window)
    {
        long output = MaxOutputTokens ?? 0;
        if (TokenEstimator.UpperBound(Characters, _messages.Count) + output <= window)
        {
            return true; // far from the limit: no tokenizing
        }

        return ExactTokens + output <= window;
    }

    private static bool FindImage(IList<ChatMessage> messages)
    {
        for (int i = 0; i < messages.Count; i++)
        {
            IList<AIContent> contents = messages[i].Contents;
            for (int j = 0; j < contents.Count; j++)
            {
                AIContent content = contents[j];
                if ((content is DataContent data && data.HasTopLevelMediaType("image")) ||
                    (content is UriContent uri && uri.HasTopLevelMediaType("image")))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
