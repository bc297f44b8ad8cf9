import Foundation
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

/// Rollups and warnings as storage keeps them, on both engines: what an ingest or a
/// correction changes, and the warning lifecycle driven by days of reports.
@Suite struct CockpitStorageTests {
    /// Two campuses of one district and one of another.
    static func campuses(_ app: AppDatabase) async throws -> (a: Int, b: Int, c: Int, x: String, y: String) {
        var byDistrict: [String: [Int]] = [:]
        for row in try await app.database.query("SELECT id, district_code FROM campuses ORDER BY id") {
            byDistrict[try row.string("district_code"), default: []].append(try row.int("id"))
        }
        let districts = byDistrict.filter { $0.value.count >= 2 }.keys.sorted()
        let x = districts[0]
        let y = districts[1]
        return (byDistrict[x]![0], byDistrict[x]![1], byDistrict[y]![0], x, y)
    }

    static func body(
        beds: Int64 = 10,
        occupied: Int64 = 5,
        visits: Int64 = 100,
        positives: Int64 = 2,
        wait: Int64 = 10,
        drugStock: Int64 = 1_000,
        materialStock: Int64 = 1_000,
        consumed: Int64 = 10
    ) -> JSONValue {
        .object([
            "icu": .object([
                "bedsTotal": .integer(beds), "bedsOccupied": .integer(occupied), "convertibleBeds": .integer(0),
                "ventilatorsTotal": .integer(2), "ventilatorsInUse": .integer(1),
            ]),
            "feverClinic": .object([
                "visits": .integer(visits), "positives": .integer(positives), "referralsOut": .integer(0),
                "waitingPatients": .integer(1), "avgWaitMinutes": .integer(wait),
                "isolationRoomsTotal": .integer(4), "isolationRoomsOccupied": .integer(0),
            ]),
            "drugs": .array([.object(["code": .string("PAXLOVID"), "stock": .integer(drugStock), "consumed": .integer(consumed)])]),
            "materials": .array([.object(["code": .string("N95"), "stock": .integer(materialStock), "consumed": .integer(consumed)])]),
        ])
    }

    @discardableResult
    static func ingest(
        _ app: AppDatabase,
        _ campus: Int,
        _ date: Day,
        _ body: JSONValue,
        today: Day? = nil,
        reason: String? = nil,
        mayApprove: Bool = false
    ) async throws -> IngestionResult {
        let today = today ?? date + 1
        return try await app.ingestion.ingest(
            [
                ReportSubmission(
                    campusId: campus,
                    date: date,
                    body: body,
                    correctionReason: reason,
                    submittedBy: nil,
                    submittedAt: (date + 1).unixSeconds(atShanghaiHour: 9),
                    submitterMayApprove: mayApprove
                )
            ],
            today: today
        )[0]
    }

    static func figures(_ app: AppDatabase, _ scope: Scope, _ date: Day) async throws -> DayFigures? {
        try await app.figures.figures(of: scope, from: date, to: date)[date]
    }

    @Test(arguments: TestEngine.available)
    func rollupsFollowIngestsAndCorrections(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await ReportIngestionTests.seeded(app)
            let (a, b, c, x, y) = try await Self.campuses(app)
            let day = Day("2026-11-20")!
            try await Self.ingest(app, a, day, Self.body(beds: 10, occupied: 5, visits: 100, wait: 10, drugStock: 100))
            try await Self.ingest(app, b, day, Self.body(beds: 20, occupied: 15, visits: 300, wait: 30, drugStock: 50))
            try await Self.ingest(app, c, day, Self.body(beds: 30, occupied: 3, visits: 50, wait: 5))

            let district = try #require(try await Self.figures(app, .district(x), day))
            #expect(district.campusesReported == 2)
            #expect(district["icu.bedsTotal"] == 30 && district["icu.bedsOccupied"] == 20)
            #expect(district["feverClinic.visits"] == 400)
            // Waiting time weighted by visits: (10·100 + 30·300) / 400 = 25.
            #expect(district["feverClinic.avgWaitMinutes"] == 25)
            #expect(district.stock[.drug]?["PAXLOVID"] == StockTotal(stock: 150, consumed: 20))
            let city = try #require(try await Self.figures(app, .city, day))
            #expect(city.campusesReported == 3 && city["icu.bedsOccupied"] == 23 && city["icu.bedsTotal"] == 60)
            #expect(try await Self.figures(app, .district(y), day)?["icu.bedsOccupied"] == 3)

            // A correction on the same day rewrites every rollup above the campus.
            let corrected = try await Self.ingest(
                app,
                a,
                day,
                Self.body(beds: 10, occupied: 9, visits: 100, wait: 10, drugStock: 100),
                reason: "recount"
            )
            guard case .accepted(2, _, _, false) = corrected else {
                Issue.record("correction: \(corrected)")
                return
            }
            #expect(try await Self.figures(app, .district(x), day)?["icu.bedsOccupied"] == 24)
            #expect(try await Self.figures(app, .city, day)?["icu.bedsOccupied"] == 27)

            // An old, locked day: the correction waits for approval (rollups unchanged), then counts.
            let old = day - 10
            try await Self.ingest(app, a, old, Self.body(occupied: 4))
            try await Self.ingest(app, c, old, Self.body(occupied: 6))
            #expect(try await Self.figures(app, .city, old)?["icu.bedsOccupied"] == 10)
            let pending = try await Self.ingest(app, a, old, Self.body(occupied: 8), today: day + 1, reason: "late recount")
            guard case .pendingApproval(let version, _) = pending else {
                Issue.record("old correction: \(pending)")
                return
            }
            #expect(try await Self.figures(app, .city, old)?["icu.bedsOccupied"] == 10)
            #expect(
                try await app.ingestion.decide(
                    campusId: a,
                    date: old,
                    version: version,
                    approve: true,
                    by: 1,
                    now: day.unixSeconds(atShanghaiHour: 12)
                )
                    == .approved(version: version)
            )
            #expect(try await Self.figures(app, .district(x), old)?["icu.bedsOccupied"] == 8)
            #expect(try await Self.figures(app, .city, old)?["icu.bedsOccupied"] == 14)
            // And the newer day is untouched by the old correction.
            #expect(try await Self.figures(app, .city, day)?["icu.bedsOccupied"] == 27)

            // Rollups rebuilt from scratch equal the maintained ones.
            let maintained = try await app.figures.figures(of: .city, from: old, to: day)
            try await app.database.write { try await $0.execute("DELETE FROM rollups") }
            #expect(try await app.figures.rebuildIfMissing() == 2)
            #expect(try await app.figures.figures(of: .city, from: old, to: day) == maintained)
        }
    }

    /// Reports of one district arriving at the same moment: every one is in the rollup, and
    /// the district's warnings are judged without two of them opening the same warning.
    @Test(arguments: TestEngine.available)
    func concurrentIngestsKeepRollupsWhole(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await ReportIngestionTests.seeded(app)
            let district = try #require(
                try await app.database.first(
                    "SELECT district_code FROM campuses GROUP BY district_code HAVING COUNT(*) >= 12 ORDER BY district_code LIMIT 1"
                )
            )
            let code = try district.string("district_code")
            let campuses = try await app.database.query("SELECT id FROM campuses WHERE district_code = $1 ORDER BY id LIMIT 12", [.text(code)])
                .map { try $0.int("id") }
            let day = Day("2026-11-20")!
            try await withThrowingTaskGroup(of: IngestionResult.self) { group in
                for campus in campuses {
                    // ICU full everywhere: every campus, the district and the city raise the same rule.
                    group.addTask { try await Self.ingest(app, campus, day, Self.body(beds: 10, occupied: 10)) }
                }
                for try await result in group {
                    guard case .accepted = result else {
                        Issue.record("\(result)")
                        return
                    }
                }
            }
            let rollup = try #require(try await Self.figures(app, .district(code), day))
            #expect(rollup.campusesReported == campuses.count)
            #expect(rollup["icu.bedsOccupied"] == 10 * campuses.count)
            #expect(try await Self.warnings(app, .district(code), rule: "icu_occupancy", status: .active).count == 1)
            #expect(try await Self.warnings(app, .city, rule: "icu_occupancy", status: .active).count == 1)
        }
    }

    static func warnings(
        _ app: AppDatabase,
        _ scope: Scope,
        rule: String,
        status: WarningRepository.StatusFilter = .all
    ) async throws -> [WarningRepository.Warning] {
        try await app.warnings.list(scope: scope, status: status, limit: 100).filter { $0.scope == scope.description && $0.ruleId == rule }
    }

    /// Open → persisting (updated, not duplicated) → acknowledged → escalated (open again,
    /// delivered again) → clear for three days → resolved automatically → a new one.
    @Test(arguments: TestEngine.available)
    func theWarningLifecycleFollowsTheDays(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await ReportIngestionTests.seeded(app)
            let (a, _, _, _, _) = try await Self.campuses(app)
            let campus = Scope.campus(a)
            let d1 = Day("2026-11-10")!
            try await Self.ingest(app, a, d1, Self.body(beds: 10, occupied: 9))  // 90 % → orange
            var open = try await Self.warnings(app, campus, rule: "icu_occupancy")
            #expect(open.count == 1 && open[0].level == "orange" && open[0].status == "open" && open[0].value == 90 && open[0].threshold == 90)
            let id = open[0].id
            #expect(try await app.warnings.events(warningId: id).map(\.kind) == ["opened"])
            #expect(try await app.warnings.events(warningId: id).first?.deliver == true)

            try await Self.ingest(app, a, d1 + 1, Self.body(beds: 10, occupied: 9))
            open = try await Self.warnings(app, campus, rule: "icu_occupancy")
            #expect(
                open.count == 1 && open[0].id == id && open[0].lastFiredDate == (d1 + 1).description,
                "a persisting condition updates its warning"
            )

            #expect(try await app.warnings.acknowledge(id: id, by: 7, note: "extra beds opened", now: 1) != .notFound)
            #expect(try await app.warnings.acknowledge(id: id, by: 7, note: "again", now: 2) == .alreadyAcknowledged)
            #expect(try await app.warnings.warning(id: id)?.status == "acknowledged")

            try await Self.ingest(app, a, d1 + 2, Self.body(beds: 10, occupied: 10))  // 100 % → red
            let escalated = try #require(try await app.warnings.warning(id: id))
            #expect(escalated.level == "red" && escalated.status == "open", "an escalation needs acknowledging again")
            let events = try await app.warnings.events(warningId: id)
            #expect(events.map(\.kind) == ["opened", "acknowledged", "escalated"])
            #expect(events.last?.deliver == true)
            #expect(try await app.warnings.pendingDeliveries().contains { $0.warning.id == id && $0.kind == "escalated" })

            for offset in 3...4 {
                try await Self.ingest(app, a, d1 + offset, Self.body(beds: 10, occupied: 5))
                #expect(try await app.warnings.warning(id: id)?.clearDays == offset - 2)
                #expect(try await app.warnings.warning(id: id)?.status == "open")
            }
            try await Self.ingest(app, a, d1 + 5, Self.body(beds: 10, occupied: 5))
            let resolved = try #require(try await app.warnings.warning(id: id))
            #expect(resolved.status == "resolved" && resolved.resolution == "auto")

            try await Self.ingest(app, a, d1 + 6, Self.body(beds: 10, occupied: 8))  // 80 % → blue, a new warning
            let fresh = try await Self.warnings(app, campus, rule: "icu_occupancy", status: .active)
            #expect(fresh.count == 1 && fresh[0].id != id && fresh[0].level == "blue")
            #expect(try await app.warnings.resolve(id: fresh[0].id, by: 7, note: "handled", now: 3) != .notFound)
            #expect(try await app.warnings.resolve(id: fresh[0].id, by: 7, note: "handled", now: 4) == .alreadyResolved)

            // A correction of a day before the newest evaluated one leaves today's warnings alone.
            let late = try await Self.ingest(app, a, d1 + 1, Self.body(beds: 10, occupied: 10), today: d1 + 7, reason: "recount", mayApprove: true)
            guard case .accepted = late else {
                Issue.record("late correction: \(late)")
                return
            }
            #expect(try await Self.warnings(app, campus, rule: "icu_occupancy", status: .active).isEmpty)
        }
    }

    /// Each of the four pressures opens a warning at the levels its rules name.
    @Test(arguments: TestEngine.available)
    func eachPressureOpensItsWarning(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await ReportIngestionTests.seeded(app)
            let (a, b, _, x, _) = try await Self.campuses(app)
            let day = Day("2026-11-10")!
            // One batch (the district and city are judged on both reports):
            // campus a: ICU 96 % (red), 5 PAXLOVID for 10 a day (0.5 days: red), 25 N95 (2.5 days: orange);
            // campus b: 40 visits with 2 positives — the district's positive rate is 14 / 140 = 10 % (yellow).
            let at = (day + 1).unixSeconds(atShanghaiHour: 9)
            let results = try await app.ingestion.ingest(
                [
                    ReportSubmission(
                        campusId: a,
                        date: day,
                        body: Self.body(beds: 25, occupied: 24, visits: 100, positives: 12, drugStock: 5, materialStock: 25),
                        correctionReason: nil,
                        submittedBy: nil,
                        submittedAt: at
                    ),
                    ReportSubmission(
                        campusId: b,
                        date: day,
                        body: Self.body(beds: 25, occupied: 10, visits: 40, positives: 2),
                        correctionReason: nil,
                        submittedBy: nil,
                        submittedAt: at
                    ),
                ],
                today: day + 1
            )
            #expect(results.allSatisfy { if case .accepted = $0 { true } else { false } })
            let campus = try await app.warnings.list(scope: .campus(a), status: .active, limit: 100)
            let byRule = Dictionary(uniqueKeysWithValues: campus.filter { $0.scope == Scope.campus(a).description }.map { ($0.ruleId, $0) })
            #expect(byRule["icu_occupancy"]?.level == "red" && byRule["icu_occupancy"]?.pressure == "clinical")
            #expect(byRule["drug_days_of_supply"]?.level == "red" && byRule["drug_days_of_supply"]?.pressure == "drugStock")
            #expect(byRule["material_days_of_supply"]?.level == "orange" && byRule["material_days_of_supply"]?.pressure == "materialStock")
            #expect(byRule["fever_positive_rate"] == nil, "the positive-rate rule is for districts and the city")

            let district = try await Self.warnings(app, .district(x), rule: "fever_positive_rate")
            #expect(district.count == 1 && district[0].level == "yellow" && district[0].pressure == "epidemic" && district[0].value == 10)
            // The district's list includes its campuses' warnings; the campus's list does not include the district's.
            #expect(
                try await app.warnings.list(scope: .district(x), status: .active, limit: 100).contains { $0.scope == Scope.campus(a).description }
            )
            #expect(try await app.warnings.activeCounts(scope: .campus(a))[.red] == 2)
            // The city's ICU occupancy is 34 / 50 = 68 %: no warning there.
            #expect(try await Self.warnings(app, .city, rule: "icu_occupancy").isEmpty)
        }
    }

    /// A saved table is the one evaluated next; versions are kept.
    @Test(arguments: TestEngine.available)
    func anEditedWarningTableTakesEffect(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await ReportIngestionTests.seeded(app)
            let (a, _, _, _, _) = try await Self.campuses(app)
            var table = WarningRuleTable.standard
            let index = try #require(table.rules.firstIndex { $0.id == "icu_occupancy" })
            table.rules[index].thresholds = .init(blue: 40, yellow: 50, orange: 60, red: 70)
            #expect(try await app.warnings.saveRuleTable(table, by: nil, now: 0) == 2)
            #expect(try await app.warnings.ruleTable().rules[index].thresholds.blue == 40)
            try await Self.ingest(app, a, Day("2026-11-10")!, Self.body(beds: 10, occupied: 5))
            #expect(try await Self.warnings(app, .campus(a), rule: "icu_occupancy").first?.level == "yellow")
        }
    }
}
