using Microsoft.Extensions.AI;

namespace LlmRouter;

/// <summary>
/// Deep copies of responses and stream updates, so that a cached entry is never shared with a caller: the entry keeps
/// its own copy, and every hit gets a fresh one the caller may change at will. No serialization is involved.
/// </summary>
/// <remarks>
/// Copies the content types an answer is made of (text, reasoning, function calls, usage, data, URIs). An answer with
/// any other content is not cached (<see cref="CanCopy(ChatResponse)"/>). Provider raw representations are dropped.
/// </remarks>
internal static class ResponseCopier
{
    public static bool CanCopy(ChatResponse response)
    {
        foreach (ChatMessage message in response.Messages)
        {
            if (!CanCopy(message.Contents))
            {
                return false;
            }
        }

        return true;
    }

    public static bool CanCopy(IList<AIContent> contents)
    {
        for (int k = 0; k < contents.Count; k++)
        {
            AIContent content = contents[k];
            if (content is not (TextContent or TextReasoningContent or FunctionCallContent or UsageContent or DataContent or UriContent))
            {
                return false;
            }

            foreach (AIAnnotation annotation in content.Annotations ?? [])
            {
                if (annotation is not CitationAnnotation)
                {
                    return false;
                }

                foreach (AnnotatedRegion region in annotation.AnnotatedRegions ?? [])
                {
                    if (region is not TextSpanAnnotatedRegion)
                    {
                        return false;
                    }
                }
            }
        }

        return true;
    }

    /// <summary>A response of its own for each caller when its content cannot be deep-copied: the messages are shared, the rest is not.</summary>
    public static ChatResponse ShallowCopy(ChatResponse response) => WithMessages(response, [.. response.Messages]);

    public static ChatResponse Copy(ChatResponse response)
    {
        var messages = new List<ChatMessage>(response.Messages.Count);
        foreach (ChatMessage message in response.Messages)
        {
            messages.Add(new ChatMessage(message.Role, Copy(message.Contents))
            {
                AuthorName = message.AuthorName,
                MessageId = message.MessageId,
                CreatedAt = message.CreatedAt,
                AdditionalProperties = message.AdditionalProperties?.Clone(),
            });
        }

        return WithMessages(response, messages);
    }

    /// <summary>A new response with <paramref name="messages"/> and a copy of everything else of <paramref name="response"/> but its raw representation.</summary>
    private static ChatResponse WithMessages(ChatResponse response, List<ChatMessage> messages)
    {
        return new ChatResponse(messages)
        {
            ResponseId = response.ResponseId,
            ConversationId = response.ConversationId,
            ModelId = response.ModelId,
            CreatedAt = response.CreatedAt,
            FinishReason = response.FinishReason,
            Usage = Copy(response.Usage),
            AdditionalProperties = WithoutRoutingInfo(response.AdditionalProperties),
        };
    }

    public static ChatResponseUpdate Copy(ChatResponseUpdate update) => new()
    {
        AuthorName = update.AuthorName,
        Role = update.Role,
        Contents = Copy(update.Contents),
        ResponseId = update.ResponseId,
        MessageId = update.MessageId,
        ConversationId = update.ConversationId,
        CreatedAt = update.CreatedAt,
        FinishReason = update.FinishReason,
        ModelId = update.ModelId,
        AdditionalProperties = WithoutRoutingInfo(update.AdditionalProperties),
    };

    /// <summary>An estimate of the bytes an entry holds, for the cache's size limit: text at two bytes a character, plus a fixed cost per object.</summary>
    public static long EstimateSize(IList<AIContent> contents)
    {
        long size = 64;
        for (int k = 0; k < contents.Count; k++)
        {
            AIContent content = contents[k];
            size += 64 + content switch
            {
                TextContent text => 2L * (text.Text?.Length ?? 0),
                TextReasoningContent reasoning => 2L * ((reasoning.Text?.Length ?? 0) + (reasoning.ProtectedData?.Length ?? 0)),
                FunctionCallContent call => 256 + (2L * call.Name.Length) + (64L * (call.Arguments?.Count ?? 0)),
                DataContent data => data.Data.Length,
                UriContent uri => 2L * uri.Uri.OriginalString.Length,
                _ => 64,
            };
        }

        return size;
    }

    private static List<AIContent> Copy(IList<AIContent> contents)
    {
        var copies = new List<AIContent>(contents.Count);
        for (int k = 0; k < contents.Count; k++)
        {
            AIContent content = contents[k];
            AIContent copy = content switch
            {
                TextContent text => new TextContent(text.Text),
                TextReasoningContent reasoning => new TextReasoningContent(reasoning.Text) { ProtectedData = reasoning.ProtectedData },
                FunctionCallContent call => new FunctionCallContent(
                    call.CallId, call.Name, call.Arguments is null ? null : new Dictionary<string, object?>(call.Arguments))
                {
                    InformationalOnly = call.InformationalOnly,
                },
                UsageContent usage => new UsageContent(Copy(usage.Details)!),
                DataContent data => new DataContent(data.Data, data.MediaType) { Name = data.Name },
                UriContent uri => new UriContent(uri.Uri, uri.MediaType),
                _ => throw new InvalidOperationException($"Content of type {content.GetType().Name} cannot be copied from the cache."),
            };

            copy.AdditionalProperties = content.AdditionalProperties?.Clone();
            if (content.Annotations is { } annotations)
            {
                copy.Annotations = [.. annotations.Select(Copy)];
            }

            copies.Add(copy);
        }

        return copies;
    }

    private static AIAnnotation Copy(AIAnnotation annotation)
    {
        var citation = (CitationAnnotation)annotation; // CanCopy admits no other kind
        return new CitationAnnotation
        {
            Title = citation.Title,
            Url = citation.Url,
            FileId = citation.FileId,
            ToolName = citation.ToolName,
            Snippet = citation.Snippet,
            AdditionalProperties = citation.AdditionalProperties?.Clone(),
            AnnotatedRegions = citation.AnnotatedRegions is { } regions
                ? [.. regions.Select(static r => (AnnotatedRegion)new TextSpanAnnotatedRegion { StartIndex = ((TextSpanAnnotatedRegion)r).StartIndex, EndIndex = ((TextSpanAnnotatedRegion)r).EndIndex })]
                : null,
        };
    }

    private static UsageDetails? Copy(UsageDetails? usage)
    {
        if (usage is null)
        {
            return null;
        }

        var copy = new UsageDetails();
        copy.Add(usage);
        return copy;
    }

    private static AdditionalPropertiesDictionary? WithoutRoutingInfo(AdditionalPropertiesDictionary? properties)
    {
        if (properties is null || properties.Count == 0)
        {
            return null;
        }

        AdditionalPropertiesDictionary copy = properties.Clone();
        _ = copy.Remove(RoutingInfoExtensions.PropertyKey);
        return copy.Count == 0 ? null : copy;
    }
}
