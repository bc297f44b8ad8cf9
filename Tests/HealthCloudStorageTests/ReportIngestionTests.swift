import Foundation
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

@Suite struct ReportIngestionTests {
    static func seeded(_ app: AppDatabase) async throws -> DemoContext {
        let context = DemoContext(
            database: app,
            reference: try ReferenceData.bundled(),
            dataDirectory: NSTemporaryDirectory(),
            today: Date(timeIntervalSince1970: 1_795_226_400),
            passwordIterations: 1_000
        )
        _ = try await DemoPipeline(steps: [OrganisationsStep(), CatalogStep()]).run(context)
        return context
    }

    static func body(beds: Int64 = 10, occupied: Int64 = 5) -> JSONValue {
        .object([
            "icu": .object([
                "bedsTotal": .integer(beds), "bedsOccupied": .integer(occupied), "convertibleBeds": .integer(1),
                "ventilatorsTotal": .integer(4), "ventilatorsInUse": .integer(1),
            ])
        ])
    }

    /// A report and its correction in one batch, a broken report, an unknown campus and a
    /// correction without a reason: each answered on its own, the batch's writes consistent.
    @Test(arguments: TestEngine.available)
    func aBatchJudgesEachItemAndKeepsEveryVersion(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await Self.seeded(app)
            let day = Day("2026-11-20")!
            let at = (day + 1).unixSeconds(atShanghaiHour: 9)
            let results = try await app.ingestion.ingest(
                [
                    ReportSubmission(campusId: 1, date: day, body: Self.body(), correctionReason: nil, submittedBy: nil, submittedAt: at),
                    ReportSubmission(
                        campusId: 1,
                        date: day,
                        body: Self.body(occupied: 6),
                        correctionReason: "recount",
                        submittedBy: nil,
                        submittedAt: at + 60
                    ),
                    ReportSubmission(campusId: 2, date: day, body: Self.body(occupied: 11), correctionReason: nil, submittedBy: nil, submittedAt: at),
                    ReportSubmission(campusId: 999_999, date: day, body: Self.body(), correctionReason: nil, submittedBy: nil, submittedAt: at),
                ],
                today: day + 1
            )
            guard case .accepted(1, _, _, true) = results[0], case .accepted(2, _, _, false) = results[1],
                case .rejected(let findings) = results[2], results[3] == .unknownCampus
            else {
                Issue.record("unexpected results \(results)")
                return
            }
            #expect(findings.contains { $0.rule == "icu_beds_occupied_within_total" && $0.field == "icu.bedsOccupied" })
            #expect(try await app.reports.current(campusId: 1, date: day)?.report.counts["icu.bedsOccupied"] == 6)
            #expect(try await app.reports.versions(campusId: 1, date: day).map(\.state) == ["superseded", "current"])
            #expect(try await app.reports.current(campusId: 2, date: day) == nil)

            let again = try await app.ingestion.ingest(
                [
                    ReportSubmission(
                        campusId: 1,
                        date: day,
                        body: Self.body(occupied: 7),
                        correctionReason: nil,
                        submittedBy: nil,
                        submittedAt: at + 120
                    )
                ],
                today: day + 1
            )
            #expect(again == [.correctionReasonRequired])
            #expect(try await app.reports.versions(campusId: 1, date: day).count == 2, "nothing stored for a refused correction")
        }
    }

    /// The demo's history step on a short horizon, through the real ingestion, on each engine:
    /// the dashboards see what it made.
    @Test(arguments: TestEngine.available)
    func theDemoHistoryGoesThroughIngestionOnBothEngines(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let context = try await Self.seeded(app)
            let detail = try await ReportHistoryStep(days: 12).run(context, progress: SilentProgress())
            #expect(detail.contains("reports"))
            let yesterday = Day(shanghaiTimeOf: Int64(context.today.timeIntervalSince1970)) - 1
            let summary = try await app.quality.summary(scope: .city, date: yesterday)
            #expect(summary.expected == 364)
            #expect(summary.received > 330 && summary.received < 364, "a few campuses are missing yesterday: \(summary.received)")
            #expect(summary.missing.count == min(200, summary.expected - summary.received))
            let pudong = try await app.quality.summary(scope: .district("310115"), date: yesterday)
            #expect(pudong.expected < summary.expected && pudong.expected > 50)
            let rows = try await app.database.scalarInt("SELECT COUNT(*) FROM reports")
            #expect(rows > 12 * 330)
        }
    }
}

@Suite struct ApprovalOrderTests {
    /// A pending correction of a locked day cannot be approved over a newer current version.
    @Test(arguments: TestEngine.available)
    func anOlderPendingCorrectionCannotRollTheReportBack(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await ReportIngestionTests.seeded(app)
            let day = Day("2026-11-10")!
            let today = day + 10
            let at = (day + 1).unixSeconds(atShanghaiHour: 9)
            func submit(_ occupied: Int64, reason: String?, approver: Bool) async throws -> IngestionResult {
                try await app.ingestion.ingest(
                    [
                        ReportSubmission(
                            campusId: 1,
                            date: day,
                            body: ReportIngestionTests.body(occupied: occupied),
                            correctionReason: reason,
                            submittedBy: nil,
                            submittedAt: at,
                            submitterMayApprove: approver
                        )
                    ],
                    today: today
                )[0]
            }
            guard case .accepted(1, _, _, true) = try await submit(5, reason: nil, approver: false) else {
                Issue.record("v1")
                return
            }
            guard case .pendingApproval(2, _) = try await submit(6, reason: "recount", approver: false) else {
                Issue.record("v2 pending")
                return
            }
            guard case .accepted(3, _, _, false) = try await submit(7, reason: "district fix", approver: true) else {
                Issue.record("v3")
                return
            }
            #expect(
                try await app.ingestion.decide(campusId: 1, date: day, version: 2, approve: true, by: 1, now: at) == .supersededByNewer(current: 3)
            )
            #expect(try await app.reports.current(campusId: 1, date: day)?.report.counts["icu.bedsOccupied"] == 7)
            #expect(try await app.ingestion.decide(campusId: 1, date: day, version: 2, approve: false, by: 1, now: at) == .declined(version: 2))
            #expect(try await app.reports.versions(campusId: 1, date: day).map(\.state) == ["superseded", "declined", "current"])
        }
    }
}
