using System.ClientModel;
using System.ClientModel.Primitives;
using System.Net;
using System.Net.Sockets;
using LlmRouter.Tests.TestSupport;

namespace LlmRouter.Tests.Failover;

public sealed class FailureClassifierTests
{
    private readonly FailureClassifierChain _chain = new([], new ObservableFakeTimeProvider());

    [Theory]
    [InlineData(429, FailureKind.RateLimited)]
    [InlineData(500, FailureKind.Transient)]
    [InlineData(502, FailureKind.Transient)]
    [InlineData(503, FailureKind.Transient)]
    [InlineData(529, FailureKind.Transient)]
    [InlineData(408, FailureKind.Timeout)]
    [InlineData(401, FailureKind.Auth)]
    [InlineData(403, FailureKind.Auth)]
    [InlineData(404, FailureKind.Auth)]
    [InlineData(400, FailureKind.BadRequest)]
    [InlineData(422, FailureKind.BadRequest)]
    [InlineData(413, FailureKind.ContextLength)]
    public void Classify_HttpRequestExceptionWithStatus_MapsStatusToKind(int status, FailureKind expected)
    {
        Assert.Equal(expected, _chain.Classify(RouterFactory.Http(status)).Kind);
    }

    [Fact]
    public void Classify_HttpRequestExceptionWithoutStatus_IsTransient()
    {
        Assert.Equal(FailureKind.Transient, _chain.Classify(new HttpRequestException("connection reset")).Kind);
    }

    [Theory]
    [InlineData("{\"error\":{\"code\":\"context_length_exceeded\",\"message\":\"This model's maximum context length is 128000 tokens.\"}}", FailureKind.ContextLength)]
    [InlineData("{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}", FailureKind.ContextLength)]
    [InlineData("{\"error\":{\"code\":\"content_filter\",\"message\":\"The response was filtered.\"}}", FailureKind.ContentFilter)]
    [InlineData("{\"error\":{\"code\":\"content_policy_violation\"}}", FailureKind.ContentFilter)]
    [InlineData("{\"error\":{\"code\":\"invalid_value\",\"message\":\"temperature must be <= 2\"}}", FailureKind.BadRequest)]
    public void Classify_ClientResultException400_ReadsTheErrorBody(string body, FailureKind expected)
    {
        var exception = new ClientResultException(new FakePipelineResponse(400, body));

        Assert.Equal(expected, _chain.Classify(exception).Kind);
    }

    [Fact]
    public void Classify_ClientResultException429WithRetryAfterMs_CarriesTheWait()
    {
        var response = new FakePipelineResponse(429, "{}", ("retry-after-ms", "1500"), ("retry-after", "7"));

        FailureClassification result = _chain.Classify(new ClientResultException(response));

        Assert.Equal(new FailureClassification(FailureKind.RateLimited, TimeSpan.FromMilliseconds(1500)), result);
    }

    [Fact]
    public void Classify_ClientResultException429WithRetryAfterSeconds_CarriesTheWait()
    {
        var response = new FakePipelineResponse(429, "{}", ("retry-after", "7"));

        Assert.Equal(TimeSpan.FromSeconds(7), _chain.Classify(new ClientResultException(response)).RetryAfter);
    }

    [Fact]
    public void Classify_ClientResultException503_IsTransient()
    {
        Assert.Equal(FailureKind.Transient, _chain.Classify(new ClientResultException(new FakePipelineResponse(503, "{}"))).Kind);
    }

    [Fact]
    public void Classify_ClientResultExceptionWithoutResponse_IsTransient()
    {
        Assert.Equal(FailureKind.Transient, _chain.Classify(new ClientResultException("connection refused")).Kind);
    }

    [Fact]
    public void Classify_AggregateFromSdkRetries_UsesTheLastAttempt()
    {
        var aggregate = new AggregateException(RouterFactory.Http(500), RouterFactory.Http(503), RouterFactory.Http(429));

        Assert.Equal(FailureKind.RateLimited, _chain.Classify(aggregate).Kind);
    }

    [Fact]
    public void Classify_NestedAggregate_IsUnwrapped()
    {
        var aggregate = new AggregateException(new AggregateException(RouterFactory.Http(401)));

        Assert.Equal(FailureKind.Auth, _chain.Classify(aggregate).Kind);
    }

    [Fact]
    public void Classify_TimeoutException_IsTimeout()
    {
        Assert.Equal(FailureKind.Timeout, _chain.Classify(new TimeoutException()).Kind);
    }

    [Fact]
    public void Classify_SdkOwnCancellation_IsTimeout()
    {
        // HttpClient.Timeout surfaces as TaskCanceledException that is neither the caller's token nor ours.
        Assert.Equal(FailureKind.Timeout, _chain.Classify(new TaskCanceledException("HttpClient.Timeout", new TimeoutException())).Kind);
    }

    [Fact]
    public void Classify_SocketException_IsTransient()
    {
        Assert.Equal(FailureKind.Transient, _chain.Classify(new SocketException((int)SocketError.ConnectionReset)).Kind);
    }

    [Fact]
    public void Classify_UnknownException_IsTransient()
    {
        Assert.Equal(FailureKind.Transient, _chain.Classify(new InvalidOperationException("something odd")).Kind);
    }

    [Fact]
    public void Classify_UserClassifier_IsAskedFirst()
    {
        var chain = new FailureClassifierChain([new DelegateClassifier(e => e is InvalidOperationException ? new FailureClassification(FailureKind.BadRequest) : null)], TimeProvider.System);

        Assert.Equal(FailureKind.BadRequest, chain.Classify(new InvalidOperationException()).Kind);
        Assert.Equal(FailureKind.RateLimited, chain.Classify(RouterFactory.Http(429)).Kind);
    }

    [Theory]
    [InlineData(null, "2", 2000.0)]
    [InlineData("250", null, 250.0)]
    [InlineData("250.5", "9", 250.5)]
    [InlineData(null, "Thu, 01 Jan 2026 00:00:30 GMT", 30000.0)]
    [InlineData(null, "Wed, 31 Dec 2025 23:00:00 GMT", 0.0)]
    public void RetryAfterParser_ReadsMillisecondsSecondsAndDates(string? ms, string? retryAfter, double expectedMs)
    {
        TimeSpan? wait = RetryAfterParser.Parse(ms, retryAfter, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));

        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), wait);
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData("-5", "soon")]
    [InlineData("NaN", "")]
    public void RetryAfterParser_UnusableValues_GiveNull(string? ms, string? retryAfter)
    {
        Assert.Null(RetryAfterParser.Parse(ms, retryAfter, DateTimeOffset.UnixEpoch));
    }

    private sealed class DelegateClassifier(Func<Exception, FailureClassification?> classify) : IFailureClassifier
    {
        public FailureClassification? Classify(Exception exception) => classify(exception);
    }
}
