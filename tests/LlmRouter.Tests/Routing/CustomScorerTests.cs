using LlmRouter.Tests.TestSupport;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace LlmRouter.Tests.Routing;

/// <summary>The custom component of the score (<see cref="IEndpointScorer"/>) and the validation of the scoring weights.</summary>
public sealed class CustomScorerTests
{
    private readonly ObservableFakeTimeProvider _time = new();

    [Fact]
    public async Task CustomScorer_DefaultCustomWeight_LatencyStillDecides()
    {
        using RouterChatClient router = Create(new PreferScorer("b"), customWeight: 0.10);

        // b leads at first (a unmeasured scores a neutral 0.5 on latency and success) until exploration measures a.
        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 400);

        Assert.InRange(RouterDriver.FirstChoices(infos.Skip(300), "a"), 85, 100);
    }

    [Fact]
    public async Task CustomScorer_CustomWeightRaised_ChangesTheChoice()
    {
        using RouterChatClient router = Create(new PreferScorer("b"), customWeight: 1.0);

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 400);

        Assert.InRange(RouterDriver.FirstChoices(infos.Skip(300), "b"), 85, 100);
        CandidateScore a = infos[^1].Candidates.Single(c => c.Endpoint == "a");
        CandidateScore b = infos[^1].Candidates.Single(c => c.Endpoint == "b");
        Assert.Equal((0.0, 1.0), (a.Custom, b.Custom));
        Assert.True(a.Latency > b.Latency); // a is still the faster one
    }

    [Fact]
    public async Task CustomScorer_SeesEachCandidatesSnapshotAndTheRequest()
    {
        var scorer = new RecordingScorer();
        using RouterChatClient router = Create(scorer, customWeight: 0.1);
        var options = new ChatOptions { Temperature = 0.3f };

        _ = await RouterDriver.SendManyAsync(router, 20, options);

        Assert.Equal(40, scorer.Calls.Count);
        Assert.Equal(["a", "b"], scorer.Calls.TakeLast(2).Select(c => c.Endpoint).Order());
        Assert.All(scorer.Calls, c => Assert.Equal(0.3f, c.Temperature));
        Assert.All(scorer.Calls, c => Assert.Equal("hello", c.Text));
        Assert.True(scorer.Calls.Last(c => c.Endpoint == "a").SampleCount > 0);
    }

    [Theory]
    [InlineData(2.0, 1.0)]
    [InlineData(-3.0, 0.0)]
    [InlineData(double.NaN, 0.0)]
    [InlineData(0.25, 0.25)]
    public async Task CustomScorer_ValueOutsideZeroToOne_IsClampedAndNaNCountsAsZero(double returned, double expected)
    {
        using RouterChatClient router = Create(new ConstantScorer(returned), customWeight: 0.1);

        RoutingInfo info = await RouterDriver.SendAsync(router);

        Assert.All(info.Candidates, c => Assert.Equal(expected, c.Custom));
    }

    [Fact]
    public async Task CustomScorer_RegisteredWithAddEndpointScorer_IsUsedByTheRouterFromDi()
    {
        var services = new ServiceCollection();
        _ = services.AddSingleton<TimeProvider>(_time);
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", new LatencyChatClient("a", _time, 100))
            .AddEndpoint("b", new LatencyChatClient("b", _time, 200))
            .AddEndpointScorer(new PreferScorer("b"))
            .Configure(o => { o.Scoring.CustomWeight = 1; o.Randomizer = SeededRandom.Create(3); }));
        using ServiceProvider provider = services.BuildServiceProvider();
        RouterChatClient router = provider.GetRequiredService<RouterChatClient>();

        List<RoutingInfo> infos = await RouterDriver.SendManyAsync(router, 200);

        Assert.InRange(RouterDriver.FirstChoices(infos.Skip(100), "b"), 85, 100);
    }

    [Theory]
    [InlineData("LatencyWeight", -1.0)]
    [InlineData("CostWeight", double.NaN)]
    [InlineData("SuccessWeight", double.PositiveInfinity)]
    [InlineData("CustomWeight", -0.5)]
    [InlineData("LatencyWeight", 1_000.5)]
    public void Validation_InvalidScoringWeight_FailsNamingTheField(string field, double value)
    {
        OptionsValidationException error = Resolve(o =>
        {
            switch (field)
            {
                case "LatencyWeight": o.Scoring.LatencyWeight = value; break;
                case "CostWeight": o.Scoring.CostWeight = value; break;
                case "SuccessWeight": o.Scoring.SuccessWeight = value; break;
                default: o.Scoring.CustomWeight = value; break;
            }
        });

        string failure = Assert.Single(error.Failures, f => f.StartsWith($"Scoring:{field} ", StringComparison.Ordinal));
        Assert.Equal($"Scoring:{field} must be a number between 0 and 1000 (was {value}).", failure);
        Assert.Contains(failure, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_AllScoringWeightsZero_FailsNamingEveryWeight()
    {
        OptionsValidationException error = Resolve(o =>
        {
            o.Scoring.LatencyWeight = 0;
            o.Scoring.CostWeight = 0;
            o.Scoring.SuccessWeight = 0;
            o.Scoring.CustomWeight = 0;
        });

        string failure = Assert.Single(error.Failures);
        Assert.Contains("LatencyWeight, CostWeight, SuccessWeight, CustomWeight", failure, StringComparison.Ordinal);
        Assert.Contains("all 0", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validation_OneWeightLeft_IsValid()
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r
            .AddEndpoint("a", new ScriptedChatClient("a"))
            .Configure(o => { o.Scoring.LatencyWeight = 0; o.Scoring.CostWeight = 0; o.Scoring.SuccessWeight = 0; o.Scoring.CustomWeight = 2; }));
        using ServiceProvider provider = services.BuildServiceProvider();

        _ = Assert.IsType<RouterChatClient>(provider.GetRequiredService<IChatClient>());
    }

    private static OptionsValidationException Resolve(Action<LlmRouterOptions> configure)
    {
        var services = new ServiceCollection();
        _ = services.AddLlmRouter(r => r.AddEndpoint("a", new ScriptedChatClient("a")).Configure(configure));
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());
    }

    private RouterChatClient Create(IEndpointScorer scorer, double customWeight) =>
        ScoredRouterFactory.Create(
            _time,
            o => { o.Randomizer = SeededRandom.Create(3); o.Scoring.CustomWeight = customWeight; },
            scorer,
            ("a", new LatencyChatClient("a", _time, 100), null),
            ("b", new LatencyChatClient("b", _time, 200), null));

    private sealed class PreferScorer(string preferred) : IEndpointScorer
    {
        public double Score(EndpointSnapshot endpoint, IList<ChatMessage> messages, ChatOptions? options) =>
            string.Equals(endpoint.Endpoint, preferred, StringComparison.Ordinal) ? 1 : 0;
    }

    private sealed class ConstantScorer(double value) : IEndpointScorer
    {
        public double Score(EndpointSnapshot endpoint, IList<ChatMessage> messages, ChatOptions? options) => value;
    }

    private sealed class RecordingScorer : IEndpointScorer
    {
        public List<(string Endpoint, int SampleCount, string Text, float? Temperature)> Calls { get; } = [];

        public double Score(EndpointSnapshot endpoint, IList<ChatMessage> messages, ChatOptions? options)
        {
            Calls.Add((endpoint.Endpoint, endpoint.SampleCount, messages[0].Text, options?.Temperature));
            return 0.5;
        }
    }
}
