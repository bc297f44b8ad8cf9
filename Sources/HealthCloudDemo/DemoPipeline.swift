import Foundation
import HealthCloudStorage

/// One step of the demo fill. Steps are idempotent units recorded in `demo_steps` when they
/// complete, so a second run skips them and an interrupted run resumes at the step it was in.
/// Features add their own steps (the reporting feature adds 730 days of history).
public protocol DemoStep: Sendable {
    /// Stable identifier stored in `demo_steps`.
    var name: String { get }
    /// What the progress display shows.
    var title: String { get }
    /// Fills the data; returns a one-line summary of what it made.
    func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String
}

public struct DemoContext: Sendable {
    public var database: AppDatabase
    public var reference: ReferenceData
    /// The demo's "now": its Asia/Shanghai calendar day is the demo's today (history ends the
    /// day before), and accounts are made at this instant. Always given, never read from the
    /// system, so a test's demo is the same on every day it runs.
    public var today: Date
    public var seed: UInt64
    /// Where files a person needs (demo-accounts.json) are written.
    public var dataDirectory: String
    /// PBKDF2 cost of demo passwords (tests lower it).
    public var passwordIterations: Int

    public init(
        database: AppDatabase,
        reference: ReferenceData,
        dataDirectory: String,
        today: Date,
        seed: UInt64 = 2022,
        passwordIterations: Int = 60_000
    ) {
        self.database = database
        self.reference = reference
        self.dataDirectory = dataDirectory
        self.today = today
        self.seed = seed
        self.passwordIterations = passwordIterations
    }
}

public struct DemoPipeline: Sendable {
    public struct Outcome: Sendable, Equatable {
        public var step: String
        public var ranNow: Bool
        public var detail: String
    }

    public var steps: [any DemoStep]

    public init(steps: [any DemoStep]) {
        self.steps = steps
    }

    /// The steps every demo run performs, in order.
    public static var standard: DemoPipeline { standard(historyDays: 730) }

    public static func standard(historyDays: Int) -> DemoPipeline {
        DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep(), ReportHistoryStep(days: historyDays), CockpitRollupsStep()])
    }

    /// Runs the steps not yet recorded as done. Migrations must already be applied.
    public func run(_ context: DemoContext, progress: any DemoProgress = SilentProgress()) async throws -> [Outcome] {
        let demo = context.database.demo
        var outcomes: [Outcome] = []
        for (index, step) in steps.enumerated() {
            if let detail = try await demo.completedStep(step.name) {
                progress.skipped(step: step.title, index: index, of: steps.count, detail: detail)
                outcomes.append(Outcome(step: step.name, ranNow: false, detail: detail))
                continue
            }
            progress.begin(step: step.title, index: index, of: steps.count)
            let detail = try await step.run(context, progress: progress)
            try await demo.recordStep(step.name, detail: detail, at: Date())
            progress.end(step: step.title, detail: detail)
            outcomes.append(Outcome(step: step.name, ranNow: true, detail: detail))
        }
        return outcomes
    }
}
