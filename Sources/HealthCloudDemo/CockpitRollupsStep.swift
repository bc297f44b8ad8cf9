import HealthCloudStorage

/// District and city rollups for a database whose reports were filled before rollups
/// existed. On a fresh database the report history already maintained them (nothing to do).
public struct CockpitRollupsStep: DemoStep {
    public let name = "cockpit-rollups"
    public let title = "Cockpit: district and city rollups"

    public init() {}

    public func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String {
        let days = try await context.database.figures.rebuildIfMissing()
        return days == 0 ? "already current" : "rebuilt \(days) days"
    }
}
