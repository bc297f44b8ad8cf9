import Foundation
import HealthCloudDomain
import Testing

/// Every rule of the standard table, once passing and once failing, plus the structural
/// checks and the statistics underneath.
@Suite struct QualityControlTests {
    static let catalog: [CatalogKind: Set<String>] = [.drug: ["PAXLOVID", "AZVUDINE"], .material: ["N95"]]
    static let date = Day("2026-11-20")!
    /// 08:00 Shanghai on the next day: on time.
    static let onTime = (date + 1).unixSeconds(atShanghaiHour: 8)

    /// A complete, clean report.
    static func clean() -> [String: JSONValue] {
        func counts(_ pairs: [(String, Int64)]) -> JSONValue { .object(Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, .integer($0.1)) })) }
        return [
            "medicalService": counts([
                ("outpatientVisits", 3000), ("emergencyVisits", 250), ("admissions", 150), ("discharges", 140),
                ("inpatients", 1200), ("surgeries", 60), ("internetConsultations", 90),
            ]),
            "feverClinic": counts([
                ("visits", 120), ("positives", 6), ("referralsOut", 1), ("waitingPatients", 5), ("avgWaitMinutes", 20),
                ("isolationRoomsTotal", 20), ("isolationRoomsOccupied", 4),
            ]),
            "vaccination": counts([("doses", 60), ("firstDoses", 10), ("boosterDoses", 40), ("dosesAge60Plus", 25)]),
            "nucleicAcid": counts([
                ("samplesCollected", 800), ("samplesTested", 790), ("positives", 2), ("avgTurnaroundHours", 6), ("dailyCapacity", 3000),
            ]),
            "icu": counts([("bedsTotal", 40), ("bedsOccupied", 28), ("convertibleBeds", 12), ("ventilatorsTotal", 32), ("ventilatorsInUse", 15)]),
            "drugs": .array([.object(["code": .string("PAXLOVID"), "stock": .integer(300), "consumed": .integer(12)])]),
            "materials": .array([.object(["code": .string("N95"), "stock": .integer(20000), "consumed": .integer(900)])]),
        ]
    }

    static func set(_ report: inout [String: JSONValue], _ path: String, _ value: JSONValue) {
        let parts = path.split(separator: ".").map(String.init)
        guard case .object(var section) = report[parts[0]] ?? .null else { return }
        section[parts[1]] = value
        report[parts[0]] = .object(section)
    }

    static func evaluate(
        _ report: [String: JSONValue],
        submittedAt: Int64 = onTime,
        firstVersion: Bool = true,
        history: [Day: DailyReport] = [:],
        table: QualityRuleTable = .standard,
        date: Day = date
    ) -> QualityControl.Outcome {
        QualityControl.evaluate(
            .object(report),
            table: table,
            catalog: catalog,
            input: .init(
                date: date,
                today: date + 1,
                submittedAt: submittedAt,
                isFirstVersion: firstVersion,
                history: history
            )
        )
    }

    static func rules(_ outcome: QualityControl.Outcome) -> Set<String> { Set(outcome.findings.map(\.rule)) }

    @Test func aCleanReportHasNoFindings() {
        let outcome = Self.evaluate(Self.clean())
        #expect(outcome.findings.isEmpty, "\(outcome.findings)")
        #expect(outcome.accepted)
    }

    /// (rule, field, a passing value, a failing value) for the pairwise hard and soft limits.
    @Test(arguments: [
        ("icu_beds_occupied_within_total", "icu.bedsOccupied", 40, 41),
        ("isolation_rooms_occupied_within_total", "feverClinic.isolationRoomsOccupied", 20, 21),
        ("ventilators_in_use_within_total", "icu.ventilatorsInUse", 32, 33),
        ("nucleic_acid_positives_within_tested", "nucleicAcid.positives", 790, 791),
        ("doses_60_plus_within_doses", "vaccination.dosesAge60Plus", 60, 61),
        ("first_and_booster_within_doses", "vaccination.boosterDoses", 50, 51),
        ("fever_positives_within_visits", "feverClinic.positives", 120, 121),
    ])
    func limitRules(rule: String, field: String, passing: Int64, failing: Int64) throws {
        var report = Self.clean()
        Self.set(&report, field, .integer(passing))
        #expect(!Self.rules(Self.evaluate(report)).contains(rule))
        Self.set(&report, field, .integer(failing))
        let outcome = Self.evaluate(report)
        let finding = try #require(outcome.findings.first { $0.rule == rule })
        let severity = QualityRuleTable.standard.rules.first { $0.id == rule }!.severity
        #expect(finding.severity == severity)
        #expect(outcome.accepted == (severity == .warning))
    }

    @Test func wellFormedNeedsNonNegativeIntegersKnownNamesAndCatalogCodes() {
        var report = Self.clean()
        Self.set(&report, "icu.bedsTotal", .integer(-1))
        #expect(Self.rules(Self.evaluate(report)) == ["well_formed"])
        for bad in [JSONValue.number(3.5), .string("40"), .bool(true), .null] {
            var report = Self.clean()
            Self.set(&report, "icu.bedsTotal", bad)
            let outcome = Self.evaluate(report)
            #expect(!outcome.accepted && outcome.findings.contains { $0.field == "icu.bedsTotal" }, "\(bad)")
        }
        var unknown = Self.clean()
        unknown["dental"] = .object([:])
        Self.set(&unknown, "icu.bedsFree", .integer(3))
        unknown["drugs"] = .array([.object(["code": .string("ASPIRIN"), "stock": .integer(1), "consumed": .integer(0)])])
        let fields = Set(Self.evaluate(unknown).findings.compactMap(\.field))
        #expect(fields.isSuperset(of: ["dental", "icu.bedsFree", "drugs[0].code"]))
    }

    @Test func aReportWithFiveDifferentErrorsGetsAllFiveWithTheirFields() {
        var report = Self.clean()
        Self.set(&report, "icu.bedsOccupied", .integer(45))  // over beds
        Self.set(&report, "vaccination.dosesAge60Plus", .integer(61))  // over doses
        Self.set(&report, "medicalService.surgeries", .integer(-2))  // negative
        Self.set(&report, "nucleicAcid.positives", .integer(900))  // over tested
        report["materials"] = .array([.object(["code": .string("N95"), "stock": .string("many"), "consumed": .integer(1)])])  // not a number
        let outcome = Self.evaluate(report)
        let errors = outcome.findings.filter { $0.severity == .error }
        #expect(
            Set(errors.compactMap(\.field)) == [
                "icu.bedsOccupied", "vaccination.dosesAge60Plus", "medicalService.surgeries",
                "nucleicAcid.positives", "materials[0].stock",
            ]
        )
        #expect(errors.count == 5)
        #expect(!outcome.accepted)
    }

    @Test func dateNotInFuture() {
        let table = QualityRuleTable.standard
        let passing = QualityControl.evaluate(
            .object(Self.clean()),
            table: table,
            catalog: Self.catalog,
            input: .init(
                date: Self.date,
                today: Self.date,
                submittedAt: Self.onTime,
                isFirstVersion: true,
                history: [:]
            )
        )
        #expect(!Self.rules(passing).contains("date_not_in_future"))
        let failing = QualityControl.evaluate(
            .object(Self.clean()),
            table: table,
            catalog: Self.catalog,
            input: .init(
                date: Self.date + 1,
                today: Self.date,
                submittedAt: Self.onTime,
                isFirstVersion: true,
                history: [:]
            )
        )
        #expect(Self.rules(failing).contains("date_not_in_future") && !failing.accepted)
    }

    @Test func sectionMissing() {
        #expect(!Self.rules(Self.evaluate(Self.clean())).contains("section_missing"))
        var report = Self.clean()
        report["vaccination"] = nil
        report["drugs"] = nil
        let outcome = Self.evaluate(report)
        #expect(outcome.findings.filter { $0.rule == "section_missing" }.compactMap(\.field).sorted() == ["drugs", "vaccination"])
        #expect(outcome.accepted, "a missing section is a warning")
    }

    @Test func lateIsAfterTenOClockTheNextDayAndOnlyForTheFirstVersion() {
        let deadline = (Self.date + 1).unixSeconds(atShanghaiHour: 10)
        #expect(!Self.evaluate(Self.clean(), submittedAt: deadline).late)
        let late = Self.evaluate(Self.clean(), submittedAt: deadline + 1)
        #expect(late.late && Self.rules(late).contains("late") && late.accepted)
        #expect(!Self.evaluate(Self.clean(), submittedAt: deadline + 86_400, firstVersion: false).late, "corrections are never late")
    }

    static func history(_ field: String, values: (Day) -> Int) -> [Day: DailyReport] {
        var history: [Day: DailyReport] = [:]
        for offset in 1...28 {
            let day = date - offset
            history[day] = DailyReport(counts: [field: values(day)], presentSections: [String(field.split(separator: ".")[0])])
        }
        return history
    }

    @Test func outlierAgainstTheCampusOwnMedianAndMAD() {
        let history = Self.history("feverClinic.visits") { 100 + ($0.number % 7) * 3 }
        var report = Self.clean()
        Self.set(&report, "feverClinic.visits", .integer(112))
        #expect(!Self.evaluate(report, history: history).findings.contains { $0.rule == "outlier" })
        Self.set(&report, "feverClinic.visits", .integer(400))
        Self.set(&report, "feverClinic.positives", .integer(6))
        let finding = Self.evaluate(report, history: history).findings.first { $0.rule == "outlier" }
        #expect(finding?.field == "feverClinic.visits")
        #expect(finding?.severity == .warning)
    }

    @Test func outlierComparesWeekendsWithWeekends() {
        // Weekdays ~3000 outpatients, weekends ~1900: a Sunday with 1950 is normal.
        let sunday = Day("2026-11-22")!
        #expect(sunday.isWeekend)
        var history: [Day: DailyReport] = [:]
        for offset in 1...28 {
            let day = sunday - offset
            history[day] = DailyReport(
                counts: ["medicalService.outpatientVisits": (day.isWeekend ? 1_900 : 3_000) + (offset % 5) * 20],
                presentSections: ["medicalService"]
            )
        }
        var report = Self.clean()
        Self.set(&report, "medicalService.outpatientVisits", .integer(1_950))
        #expect(!Self.evaluate(report, history: history, date: sunday).findings.contains { $0.rule == "outlier" })
        Self.set(&report, "medicalService.outpatientVisits", .integer(3_600))
        #expect(Self.evaluate(report, history: history, date: sunday).findings.contains { $0.rule == "outlier" })
    }

    @Test func noOutlierWithoutEnoughHistory() {
        var history = Self.history("feverClinic.visits") { _ in 100 }
        for offset in 4...28 { history[Self.date - offset] = nil }
        var report = Self.clean()
        Self.set(&report, "feverClinic.visits", .integer(900))
        Self.set(&report, "feverClinic.positives", .integer(6))
        #expect(!Self.evaluate(report, history: history).findings.contains { $0.rule == "outlier" })
    }

    @Test func dayOverDayJumpBeyondTheFactor() {
        let yesterday: [Day: DailyReport] = [Self.date - 1: DailyReport(counts: ["feverClinic.visits": 40], presentSections: ["feverClinic"])]
        var report = Self.clean()
        Self.set(&report, "feverClinic.visits", .integer(119))
        #expect(!Self.evaluate(report, history: yesterday).findings.contains { $0.rule == "day_over_day_jump" })
        Self.set(&report, "feverClinic.visits", .integer(121))
        #expect(Self.evaluate(report, history: yesterday).findings.contains { $0.rule == "day_over_day_jump" && $0.field == "feverClinic.visits" })
        // Small counts do not jump: 2 → 9 is under the minimum base.
        let small: [Day: DailyReport] = [Self.date - 1: DailyReport(counts: ["feverClinic.referralsOut": 0], presentSections: ["feverClinic"])]
        Self.set(&report, "feverClinic.referralsOut", .integer(9))
        #expect(!Self.evaluate(report, history: small).findings.contains { $0.field == "feverClinic.referralsOut" })
    }

    @Test func stockFallingFasterThanConsumptionExplains() {
        let yesterday: [Day: DailyReport] = [Self.date - 1: DailyReport(drugs: [StockLine(code: "PAXLOVID", stock: 320, consumed: 10)])]
        var report = Self.clean()  // 320 → 300 with 12 consumed: 8 unexplained, within tolerance and slack
        report["drugs"] = .array([.object(["code": .string("PAXLOVID"), "stock": .integer(306), "consumed": .integer(12)])])
        #expect(!Self.evaluate(report, history: yesterday).findings.contains { $0.rule == "stock_unexplained_drop" })
        report["drugs"] = .array([.object(["code": .string("PAXLOVID"), "stock": .integer(250), "consumed": .integer(12)])])
        let finding = Self.evaluate(report, history: yesterday).findings.first { $0.rule == "stock_unexplained_drop" }
        #expect(finding?.field == "drugs[0].stock")
        // A delivery (stock rises) is never a finding.
        report["drugs"] = .array([.object(["code": .string("PAXLOVID"), "stock": .integer(900), "consumed": .integer(12)])])
        #expect(!Self.evaluate(report, history: yesterday).findings.contains { $0.rule == "stock_unexplained_drop" })
    }

    @Test func theRuleTableIsDataAdministratorsCanTune() {
        var table = QualityRuleTable.standard
        // Make the jump rule stricter and the ICU rule a warning: the same engine follows.
        table.rules = table.rules.map { rule in
            var rule = rule
            if rule.id == "day_over_day_jump" { rule.check = .dayOverDayJump(factor: 1.5, minimumBase: 20) }
            if rule.id == "icu_beds_occupied_within_total" { rule.severity = .warning }
            return rule
        }
        #expect(table.problems().isEmpty)
        var report = Self.clean()
        Self.set(&report, "icu.bedsOccupied", .integer(41))
        Self.set(&report, "feverClinic.visits", .integer(70))
        let yesterday: [Day: DailyReport] = [Self.date - 1: DailyReport(counts: ["feverClinic.visits": 40], presentSections: ["feverClinic"])]
        let outcome = Self.evaluate(report, history: yesterday, table: table)
        #expect(outcome.accepted)
        #expect(Self.rules(outcome).isSuperset(of: ["icu_beds_occupied_within_total", "day_over_day_jump"]))
    }

    @Test func invalidRuleTablesAreRefusedWithThePath() {
        var table = QualityRuleTable.standard
        table.rules[2].check = .notGreater(field: "icu.bedsOccupied", limit: "icu.beds")
        table.rules[3].id = table.rules[4].id
        table.lockAfterDays = -1
        let paths = table.problems().map(\.path)
        #expect(paths.contains("rules[2].check.limit"))
        #expect(paths.contains("rules[4].id"))
        #expect(paths.contains("lockAfterDays"))
        var noStructure = QualityRuleTable.standard
        noStructure.rules.removeAll { $0.check == .wellFormed }
        #expect(noStructure.problems().contains { $0.path == "rules" })
    }

    @Test func robustStatistics() {
        #expect(RobustStatistics.median([3, 1, 2]) == 2)
        #expect(RobustStatistics.median([4, 1, 3, 2]) == 2.5)
        // Iglewicz–Hoaglin: values 1…9, MAD 2, x = 20 → 0.6745 × 15 / 2.
        let z = RobustStatistics.modifiedZScore(20, in: [1, 2, 3, 4, 5, 6, 7, 8, 9])!
        #expect(abs(z - 0.6745 * 15 / 2) < 1e-9)
        #expect(RobustStatistics.modifiedZScore(5, in: [5, 5, 5, 5]) == 0)
        #expect(RobustStatistics.modifiedZScore(6, in: [5, 5, 5, 5]) == nil)
    }

    @Test(arguments: [
        ("2026-02-28", true), ("2024-02-29", true), ("2026-02-29", false), ("2026-13-01", false), ("2026-1-01", false), ("20261101", false),
        ("2026-11-01T00", false),
    ])
    func daysParseOnlyRealDates(text: String, valid: Bool) {
        #expect((Day(text) != nil) == valid)
        if let day = Day(text) { #expect(day.description == text) }
    }

    @Test func shanghaiDaysAndDeadlines() {
        // 2026-11-20 16:30 UTC is 2026-11-21 00:30 in Shanghai.
        let instant: Int64 = 1_795_192_200
        #expect(Day(shanghaiTimeOf: instant).description == "2026-11-21")
        #expect(Day("2026-11-21")!.unixSeconds(atShanghaiHour: 10) == 1_795_226_400)
    }
}

@Suite struct RuleTableValidationEdgeTests {
    /// A window shorter than the minimum history once trapped the server when saved.
    @Test(arguments: [0, 1, 2, 3])
    func tinyOutlierWindowsAreProblemsNotCrashes(window: Int) {
        var table = QualityRuleTable.standard
        let index = table.rules.firstIndex { $0.id == "outlier" }!
        table.rules[index].check = .outlier(threshold: 3.5, windowDays: window, minimumHistory: 14)
        let paths = table.problems().map(\.path)
        #expect(paths.contains("rules[\(index)].check.windowDays"))
        #expect(paths.contains("rules[\(index)].check.minimumHistory"))
    }
}
