using System.Runtime.InteropServices;

namespace LlmRouter;

/// <summary>
/// Why the plan of a request is what it is: every candidate's score, health and rank, and why the first one leads.
/// Immutable, and kept compact: the plan itself, the candidates' health two bits each, and their strategy values only
/// when the strategy produced any; ranks are read off the plan, and the public <see cref="CandidateScore"/> view and
/// the reason's text are built on first read.
/// </summary>
/// <remarks>
/// Being immutable, one decision may serve several requests: the selector hands out its latest decision again when a
/// new plan would describe exactly the same thing (see <see cref="Describes"/>).
/// </remarks>
internal sealed class RoutingDecision
{
    /// <summary>The strategy values kept per candidate: score, latency, cost, success, custom, estimated cost.</summary>
    public const int ValuesPerCandidate = 6;

    /// <summary>How many candidates' health fits in <see cref="_health"/>, two bits each.</summary>
    public const int PackedHealthLimit = 32;

    private readonly RouterEndpoint[] _candidates;
    private readonly double[]? _values;
    private readonly ulong _health;
    private readonly byte[]? _manyHealth;
    private readonly string _why;
    private readonly string? _passedOver;
    private readonly PlanGroup _passedGroup;
    private readonly EndpointExclusion[]? _exclusions;
    private CandidateScore[]? _view;
    private EndpointExclusion[]? _excluded;
    private string? _reason;

    /// <param name="candidates">Every candidate, in registration order; read-only from here on.</param>
    /// <param name="plan">The endpoints to try, in order; read-only from here on.</param>
    /// <param name="values">The strategy values, <see cref="ValuesPerCandidate"/> per candidate (NaN when unknown); null when there are none.</param>
    /// <param name="health">Each candidate's health, two bits each, when there are at most <see cref="PackedHealthLimit"/> candidates.</param>
    /// <param name="manyHealth">Each candidate's health when there are more.</param>
    /// <param name="why">Why the leader leads, unless <paramref name="passedOver"/> says it.</param>
    /// <param name="passedOver">The strategy's first choice when the health pass passed it over; null otherwise.</param>
    /// <param name="passedGroup">Where the health pass put <paramref name="passedOver"/>.</param>
    /// <param name="exclusions">The endpoints the constraint filter excluded, and why; null when none.</param>
    public RoutingDecision(
        RouterEndpoint[] candidates, RouterEndpoint[] plan, double[]? values, ulong health, byte[]? manyHealth, string why, string? passedOver, PlanGroup passedGroup,
        EndpointExclusion[]? exclusions = null)
    {
        _exclusions = exclusions;
        _candidates = candidates;
        Plan = plan;
        _values = values;
        _health = health;
        _manyHealth = manyHealth;
        _why = why;
        _passedOver = passedOver;
        _passedGroup = passedGroup;
    }

    /// <summary>Gets the endpoints to try, in order: the first serves, the rest are the failover order. Never written to.</summary>
    public RouterEndpoint[] Plan { get; }

    public IReadOnlyList<CandidateScore> Candidates => _view ??= Build();

    public string Reason => _reason ??= Explain();

    /// <summary>Gets every endpoint left out of the plan: by the constraint filter, then by health (open, or a probe in flight).</summary>
    public IReadOnlyList<EndpointExclusion> Excluded => _excluded ??= BuildExcluded();

    /// <summary>Whether this decision says exactly what a new one built from the same parts would say.</summary>
    /// <param name="candidates">The candidates, in registration order.</param>
    /// <param name="entries">The candidates' entries, in the same order.</param>
    /// <param name="plan">The plan, as indices into <paramref name="candidates"/>.</param>
    /// <param name="scored">Whether any entry holds a strategy value.</param>
    /// <param name="health">The packed health (when at most <see cref="PackedHealthLimit"/> candidates).</param>
    /// <param name="why">Why the leader leads.</param>
    /// <param name="passedOver">The passed-over first choice, if any.</param>
    /// <param name="passedGroup">Where the health pass put it.</param>
    public bool Describes(
        RouterEndpoint[] candidates,
        ReadOnlySpan<CandidateEntry> entries,
        ReadOnlySpan<int> plan,
        bool scored,
        ulong health,
        string why,
        string? passedOver,
        PlanGroup passedGroup)
    {
        if (_candidates.Length != candidates.Length || Plan.Length != plan.Length || _health != health || scored != _values is not null ||
            !ReferenceEquals(_passedOver, passedOver) || _passedGroup != passedGroup || !string.Equals(_why, why, StringComparison.Ordinal))
        {
            return false;
        }

        if (!ReferenceEquals(_candidates, candidates) &&
            !MemoryExtensions.SequenceEqual<RouterEndpoint>(_candidates, candidates))
        {
            return false;
        }

        if (!SamePlan(plan, candidates))
        {
            return false;
        }

        if (_manyHealth is { } many)
        {
            for (int i = 0; i < entries.Length; i++)
            {
                if (many[i] != (byte)entries[i].Health)
                {
                    return false;
                }
            }
        }

        if (_values is { } values)
        {
            // Bit for bit, one candidate's block of values at a time: a NaN matches a NaN, and -0 does not pass for 0.
            ReadOnlySpan<byte> kept = MemoryMarshal.AsBytes(values.AsSpan());
            int size = ValuesPerCandidate * sizeof(double);
            for (int i = 0; i < entries.Length; i++)
            {
                ReadOnlySpan<byte> current = MemoryMarshal.AsBytes(new ReadOnlySpan<CandidateValues>(in entries[i].Values));
                if (!current.SequenceEqual(kept.Slice(i * size, size)))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>Whether <see cref="Plan"/> lists the same endpoints, in the same order, as <paramref name="plan"/>.</summary>
    public bool SamePlan(ReadOnlySpan<int> plan, RouterEndpoint[] candidates)
    {
        RouterEndpoint[] mine = Plan;
        if (mine.Length != plan.Length)
        {
            return false;
        }

        for (int i = 0; i < plan.Length; i++)
        {
            if (!ReferenceEquals(mine[i], candidates[plan[i]]))
            {
                return false;
            }
        }

        return true;
    }

    private CandidateScore[] Build()
    {
        RouterEndpoint[] candidates = _candidates;
        var view = new CandidateScore[candidates.Length];
        for (int i = 0; i < candidates.Length; i++)
        {
            HealthState health = _manyHealth is { } many ? (HealthState)many[i] : (HealthState)((_health >> (2 * i)) & 3);
            int rank = Array.IndexOf(Plan, candidates[i]);
            if (_values is not { } values)
            {
                view[i] = new CandidateScore(candidates[i].Name, health) { Rank = rank };
                continue;
            }

            int j = i * ValuesPerCandidate;
            view[i] = new CandidateScore(candidates[i].Name, health)
            {
                Score = Known(values[j]),
                Latency = Known(values[j + 1]),
                Cost = Known(values[j + 2]),
                Success = Known(values[j + 3]),
                Custom = Known(values[j + 4]),
                EstimatedCost = double.IsNaN(values[j + 5]) ? null : (decimal)values[j + 5],
                Rank = rank,
            };
        }

        return view;
    }

    private EndpointExclusion[] BuildExcluded()
    {
        List<EndpointExclusion> excluded = [.. _exclusions ?? []];
        foreach (CandidateScore candidate in Candidates)
        {
            if (candidate.Rank < 0 && candidate.Health is HealthState.Open or HealthState.HalfOpen)
            {
                excluded.Add(new EndpointExclusion(
                    candidate.Endpoint, ExclusionReason.Health, candidate.Health == HealthState.Open ? "open (failing)" : "half-open with a probe in flight"));
            }
        }

        return [.. excluded];
    }

    private string Explain()
    {
        if (Plan.Length == 0)
        {
            return _why;
        }

        string leader = Plan[0].Name;
        if (_passedOver is null)
        {
            return string.Concat(leader, ": ", _why);
        }

        // The strategy's first choice was passed over by the health pass: say why, not "highest score".
        string passed = _passedGroup switch
        {
            PlanGroup.Demoted => ", which is degraded or ramping up and was not drawn for its share of first choices",
            PlanGroup.Cooling => ", which is rate-limited",
            _ => ", which is open",
        };
        return string.Concat([leader, ": next after ", _passedOver, passed]);
    }

    private static double? Known(double value) => double.IsNaN(value) ? null : value;
}
