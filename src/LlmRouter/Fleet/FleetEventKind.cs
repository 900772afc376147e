namespace LlmRouter;

/// <summary>What a piece of local news tells the fleet.</summary>
internal enum FleetEventKind : byte
{
    Opened,
    Closed,
    Cooldown,
    HardFailure,
    Success,
    Wake,
}
