using System.Globalization;
using Microsoft.Extensions.AI;

namespace LlmRouter.Tests.Constraints;

/// <summary>The o200k_base count against the four-characters-a-token guess, on texts of different kinds.</summary>
public sealed class TokenEstimatorTests
{
    public static TheoryData<string, string> Samples => new()
    {
        { "english prose", string.Concat(Enumerable.Repeat("The router sends each request to the endpoint with the best score, and fails over when it breaks. ", 40)) },
        { "csharp code", string.Concat(Enumerable.Repeat("public static int Add(int a, int b) { return a + b; } // sums\n", 40)) },
        { "json", string.Concat(Enumerable.Repeat("{\"id\":12345,\"name\":\"widget\",\"tags\":[\"a\",\"b\"],\"price\":9.99},", 40)) },
        { "german", string.Concat(Enumerable.Repeat("Die Anfrage wird an den Endpunkt mit der besten Bewertung weitergeleitet. ", 40)) },
        { "chinese", string.Concat(Enumerable.Repeat("路由器将每个请求发送到得分最高的端点，并在失败时切换。", 40)) },
        { "digits", string.Concat(Enumerable.Range(0, 400).Select(i => (i * 7919).ToString(CultureInfo.InvariantCulture) + " ")) },
    };

    [Theory]
    [MemberData(nameof(Samples))]
    public void ExactCount_StaysUnderTheCharacterBound(string kind, string text)
    {
        List<ChatMessage> messages = [new(ChatRole.User, text)];
        long exact = TokenEstimator.Exact(messages, null);
        long quick = TokenEstimator.Quick(TokenEstimator.CountCharacters(messages, null), 1);
        long bound = TokenEstimator.UpperBound(TokenEstimator.CountCharacters(messages, null), 1);

        Assert.InRange(exact, 1, bound);
        // The guess is off by up to a factor of three (Chinese), which is why windows are checked with the bound, then the tokenizer.
        Assert.InRange((double)quick / exact, 0.25, 1.5);
        Assert.True(quick > 0, kind);
    }
}
