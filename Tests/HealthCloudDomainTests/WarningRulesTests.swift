import Foundation
import HealthCloudDomain
import Testing

/// The warning rule table: the standard table, every validation problem and its JSON path,
/// the level a value reaches, and the Codable round trip.
@Suite struct WarningRulesTests {
    /// A valid rule to break one field at a time.
    static let valid = WarningRule(
        id: "icu_test",
        title: "ICU",
        pressure: .clinical,
        metric: "icu.occupancyRate",
        thresholds: .init(blue: 80, yellow: 85, orange: 90, red: 95),
        scopes: [.city, .campus]
    )

    static func table(_ rules: [WarningRule], autoResolveAfterDays: Int = 3) -> WarningRuleTable {
        WarningRuleTable(version: 1, autoResolveAfterDays: autoResolveAfterDays, rules: rules)
    }

    static func paths(_ table: WarningRuleTable) -> [String] { table.problems().map { $0.path } }

    /// The problems of a table of `valid` and a second rule (its own id) changed by `change`.
    static func paths(_ change: (inout WarningRule) -> Void) -> [String] {
        var rule = valid
        rule.id = "changed"
        change(&rule)
        return paths(table([valid, rule]))
    }

    @Test func theStandardTableHasNoProblems() {
        let problems = WarningRuleTable.standard.problems()
        #expect(problems.isEmpty, "\(problems)")
        #expect(Self.paths(Self.table([Self.valid])).isEmpty)
    }

    @Test func theStandardTableCoversEveryPressureAndItsMetricsExist() {
        let standard = WarningRuleTable.standard
        #expect(Set(standard.rules.map(\.pressure)) == Set(Pressure.allCases))
        #expect(standard.autoResolveAfterDays == 3)
        for rule in standard.rules {
            #expect(Metrics.named(rule.metric) != nil, "\(rule.id): \(rule.metric)")
        }
        // Two detector families (fever visits, fever positives) × four methods.
        #expect(standard.rules.filter { $0.method.isDetector }.count == 8)
        for method in [WarningMethod.earsC1, .earsC2, .earsC3, .cusum] {
            #expect(standard.rules.contains { $0.id == "\(method.rawValue)_fever_visits" && $0.minimumValue == 20 })
            #expect(standard.rules.contains { $0.id == "\(method.rawValue)_fever_positives" && $0.minimumValue == 5 })
        }
    }

    @Test func badIds() {
        for id in ["", "bad id", "bad-id", "床位", "é_rule", String(repeating: "a", count: 65)] {
            #expect(Self.paths { $0.id = id } == ["rules[1].id"], "\(id)")
        }
        #expect(Self.paths { $0.id = String(repeating: "a", count: 64) }.isEmpty)
        #expect(Self.paths { $0.id = "Rule_42" }.isEmpty)
    }

    @Test func duplicateIds() {
        let problems = Self.table([Self.valid, Self.valid]).problems()
        #expect(problems.map { $0.path } == ["rules[1].id"])
        #expect(problems.first?.message.contains("icu_test") == true)
        #expect(problems.first?.message.contains("twice") == true)
    }

    @Test func titles() {
        #expect(Self.paths { $0.title = "   " } == ["rules[1].title"])
        #expect(Self.paths { $0.title = String(repeating: "警", count: 101) } == ["rules[1].title"])
        #expect(Self.paths { $0.title = String(repeating: "警", count: 100) }.isEmpty)
    }

    @Test func unknownMetric() {
        #expect(Self.paths { $0.metric = "icu.nonsense" } == ["rules[1].metric"])
        #expect(Self.paths { $0.metric = "" } == ["rules[1].metric"])
        // Per-item days of supply are known metrics.
        #expect(
            Self.paths {
                $0.metric = "drugs.daysOfSupply.PAXLOVID"
                $0.direction = .below
                $0.thresholds = .init(blue: 14, red: 1)
            }.isEmpty
        )
    }

    @Test func scopes() {
        #expect(Self.paths { $0.scopes = [] } == ["rules[1].scopes"])
        #expect(Self.paths { $0.scopes = [.city, .city] } == ["rules[1].scopes"])
    }

    @Test func thresholdsOutOfOrderAbove() {
        // Equal is not strictly worse.
        #expect(Self.paths { $0.thresholds = .init(blue: 80, yellow: 80, orange: 90, red: 95) } == ["rules[1].thresholds.yellow"])
        #expect(Self.paths { $0.thresholds = .init(blue: 80, yellow: 85, orange: 90, red: 89) } == ["rules[1].thresholds.red"])
        // Gaps: the next defined level is compared (orange after blue).
        #expect(Self.paths { $0.thresholds = .init(blue: 80, orange: 70) } == ["rules[1].thresholds.orange"])
        #expect(Self.paths { $0.thresholds = .init(blue: 80, orange: 90) }.isEmpty)
        // A descending (below-style) table is wrong for `above`: every level after blue.
        #expect(
            Self.paths { $0.thresholds = .init(blue: 14, yellow: 7, orange: 3, red: 1) }
                == ["rules[1].thresholds.yellow", "rules[1].thresholds.orange", "rules[1].thresholds.red"]
        )
        var rule = Self.valid
        rule.thresholds = .init(blue: 80, yellow: 70)
        let message = Self.table([rule]).problems().first?.message
        #expect(message == "must be above the blue threshold")
    }

    @Test func thresholdsOutOfOrderBelow() {
        func below(_ thresholds: WarningRule.Thresholds) -> [String] {
            Self.paths {
                $0.metric = "drugs.minDaysOfSupply"
                $0.direction = .below
                $0.thresholds = thresholds
            }
        }
        #expect(below(.init(blue: 14, yellow: 7, orange: 3, red: 1)).isEmpty)
        #expect(below(.init(blue: 14, yellow: 20, orange: 3, red: 1)) == ["rules[1].thresholds.yellow"])
        #expect(below(.init(blue: 14, yellow: 7, orange: 7, red: 1)) == ["rules[1].thresholds.orange"])
        #expect(below(.init(yellow: 7, red: 8)) == ["rules[1].thresholds.red"])
        // An ascending (above-style) table is wrong for `below`.
        #expect(below(.init(blue: 80, yellow: 85)) == ["rules[1].thresholds.yellow"])
        var rule = Self.valid
        rule.direction = .below
        rule.thresholds = .init(blue: 14, yellow: 20)
        #expect(Self.table([rule]).problems().first?.message == "must be below the blue threshold")
    }

    @Test func noThresholds() {
        #expect(Self.paths { $0.thresholds = .init() } == ["rules[1].thresholds"])
    }

    @Test func nonFiniteThresholds() {
        #expect(Self.paths { $0.thresholds = .init(blue: 80, red: .infinity) } == ["rules[1].thresholds.red"])
        #expect(Self.paths { $0.thresholds = .init(blue: -.infinity, red: 95) } == ["rules[1].thresholds.blue"])
        #expect(Self.paths { $0.thresholds = .init(blue: 80, red: 2e9) } == ["rules[1].thresholds.red"])
        // NaN is not finite (and compares with nothing, so it is out of order too).
        #expect(Self.paths { $0.thresholds = .init(blue: 80, yellow: .nan) }.contains("rules[1].thresholds.yellow"))
        #expect(Self.paths { $0.thresholds = .init(yellow: .nan) } == ["rules[1].thresholds.yellow"])
    }

    @Test func detectorsMustLookForRises() {
        #expect(
            Self.paths {
                $0.metric = "feverClinic.visits"
                $0.method = .earsC2
                $0.direction = .below
                $0.thresholds = .init(blue: 3, red: 12)
            }.contains("rules[1].direction")
        )
        #expect(
            Self.paths {
                $0.metric = "feverClinic.visits"
                $0.method = .earsC2
                $0.direction = .below
                $0.thresholds = .init(red: 12)
            } == ["rules[1].direction"]
        )
        // A threshold rule may look for falls.
        #expect(
            Self.paths {
                $0.direction = .below
                $0.thresholds = .init(blue: 20, red: 5)
            }.isEmpty
        )
    }

    @Test func minimumValue() {
        #expect(Self.paths { $0.minimumValue = -1 } == ["rules[1].minimumValue"])
        #expect(Self.paths { $0.minimumValue = .nan } == ["rules[1].minimumValue"])
        #expect(Self.paths { $0.minimumValue = 0 }.isEmpty)
    }

    @Test func autoResolveAfterDaysRange() {
        #expect(Self.paths(Self.table([Self.valid], autoResolveAfterDays: 0)) == ["autoResolveAfterDays"])
        #expect(Self.paths(Self.table([Self.valid], autoResolveAfterDays: 61)) == ["autoResolveAfterDays"])
        #expect(Self.paths(Self.table([Self.valid], autoResolveAfterDays: -3)) == ["autoResolveAfterDays"])
        #expect(Self.paths(Self.table([Self.valid], autoResolveAfterDays: 1)).isEmpty)
        #expect(Self.paths(Self.table([Self.valid], autoResolveAfterDays: 60)).isEmpty)
    }

    @Test func tooManyRules() {
        let rules = (0..<201).map { index -> WarningRule in
            var rule = Self.valid
            rule.id = "rule_\(index)"
            return rule
        }
        #expect(Self.paths(Self.table(rules)) == ["rules"])
        #expect(Self.paths(Self.table(Array(rules.prefix(200)))).isEmpty)
    }

    @Test func severalProblemsAreAllReportedWithTheirIndex() {
        var bad = Self.valid
        bad.id = "bad id"
        bad.metric = "nope"
        bad.scopes = []
        let paths = Self.paths(Self.table([Self.valid, Self.valid, bad], autoResolveAfterDays: 0))
        #expect(Set(paths) == ["autoResolveAfterDays", "rules[1].id", "rules[2].id", "rules[2].metric", "rules[2].scopes"])
    }

    // MARK: level(for:)

    @Test func levelAbove() {
        let rule = Self.valid  // 80 / 85 / 90 / 95
        #expect(rule.level(for: 79.9) == nil)
        #expect(rule.level(for: -1) == nil)
        #expect(rule.level(for: 80)?.level == .blue)
        #expect(rule.level(for: 80)?.threshold == 80)
        #expect(rule.level(for: 84.99)?.level == .blue)
        #expect(rule.level(for: 85)?.level == .yellow)
        #expect(rule.level(for: 92)?.level == .orange)
        #expect(rule.level(for: 92)?.threshold == 90)
        #expect(rule.level(for: 95)?.level == .red)
        #expect(rule.level(for: 1000)?.level == .red)
        #expect(rule.level(for: 1000)?.threshold == 95)
    }

    @Test func levelBelow() {
        let rule = WarningRuleTable.standard.rules.first { $0.id == "drug_days_of_supply" }!  // 7 / 5 / 3 / 1
        #expect(rule.direction == .below)
        #expect(rule.level(for: 7.1) == nil)
        #expect(rule.level(for: 999) == nil)
        #expect(rule.level(for: 7)?.level == .blue)
        #expect(rule.level(for: 5.5)?.level == .blue)
        #expect(rule.level(for: 5)?.level == .yellow)
        #expect(rule.level(for: 5)?.threshold == 5)
        #expect(rule.level(for: 3)?.level == .orange)
        #expect(rule.level(for: 1.5)?.level == .orange)
        #expect(rule.level(for: 1)?.level == .red)
        #expect(rule.level(for: 0)?.level == .red)
        #expect(rule.level(for: 0)?.threshold == 1)
    }

    @Test func levelWithMissingLevels() {
        // Only yellow and red: below yellow is nothing; between yellow and red is yellow.
        var rule = Self.valid
        rule.thresholds = .init(yellow: 50, red: 100)
        #expect(rule.level(for: 49) == nil)
        #expect(rule.level(for: 75)?.level == .yellow)
        #expect(rule.level(for: 100)?.level == .red)
        rule.direction = .below
        rule.thresholds = .init(orange: 10)
        #expect(rule.level(for: 11) == nil)
        #expect(rule.level(for: 10)?.level == .orange)
    }

    @Test func levelsAreOrdered() {
        #expect(WarningLevel.blue < .yellow && WarningLevel.yellow < .orange && WarningLevel.orange < .red)
        #expect(!(WarningLevel.red < .blue))
        #expect(WarningLevel.allCases.max() == .red)
    }

    // MARK: Codable

    @Test func standardTableJSONRoundTrip() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(WarningRuleTable.standard)
        let decoded = try JSONDecoder().decode(WarningRuleTable.self, from: data)
        #expect(decoded == WarningRuleTable.standard)
        #expect(decoded.problems().isEmpty)
        // The wire names of methods.
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"ears_c1\"") && text.contains("\"ears_c3\"") && text.contains("\"cusum\""))
    }

    @Test func editedJSONDecodes() throws {
        let json = """
            {"version": 2, "autoResolveAfterDays": 5, "rules": [
              {"id": "icu", "title": "ICU", "pressure": "clinical", "metric": "icu.occupancyRate", "method": "threshold",
               "direction": "above", "thresholds": {"yellow": 85, "red": 95}, "scopes": ["campus"]}
            ]}
            """
        let table = try JSONDecoder().decode(WarningRuleTable.self, from: Data(json.utf8))
        #expect(table.problems().isEmpty)
        #expect(table.rules[0].thresholds == .init(yellow: 85, red: 95))
        #expect(table.rules[0].minimumValue == nil)
        #expect(table.rules[0].level(for: 90)?.level == .yellow)
    }
}

/// The engine: which rules fire on a window of figures, and the warning lifecycle.
@Suite struct WarningEngineTests {
    static let lastDay = Day("2026-11-20")!

    static func window(_ days: [DayFigures?]) -> FiguresWindow { FiguresWindow(lastDay: lastDay, days: days) }

    static func window(_ counts: [String: Int]) -> FiguresWindow { window([DayFigures(counts: counts)]) }

    static func evaluate(
        _ window: FiguresWindow,
        level: ScopeLevel = .city,
        table: WarningRuleTable = .standard
    ) -> [WarningFiring] {
        WarningEngine.evaluate(table, level: level, window: window)
    }

    static func stock(_ kind: CatalogKind, stock: Int, consumed: Int) -> FiguresWindow {
        window([DayFigures(stock: [kind: ["ITEM": StockTotal(stock: stock, consumed: consumed)]])])
    }

    static let levels: [WarningLevel] = [.blue, .yellow, .orange, .red]

    /// One ICU firing at a level (occupied of 100 beds), to feed the lifecycle.
    static func icuFiring(_ occupied: Int) -> WarningFiring {
        let firings = evaluate(window(["icu.bedsTotal": 100, "icu.bedsOccupied": occupied]))
        return firings.first { $0.ruleId == "icu_occupancy" }!
    }

    // MARK: evaluate

    @Test func clinicalAtEveryLevel() {
        // ICU occupancy 80 / 85 / 90 / 95 % of 100 beds.
        for (occupied, level) in zip([80, 85, 90, 95], Self.levels) {
            let firings = Self.evaluate(Self.window(["icu.bedsTotal": 100, "icu.bedsOccupied": occupied]))
            #expect(firings.count == 1, "\(firings)")
            let firing = firings.first
            #expect(firing?.ruleId == "icu_occupancy")
            #expect(firing?.pressure == .clinical)
            #expect(firing?.level == level)
            #expect(firing?.value == Double(occupied))
            #expect(firing?.threshold == Double(occupied))
            #expect(firing?.method == .threshold)
            #expect(firing?.metric == "icu.occupancyRate")
            #expect(firing?.statistic == nil)
        }
        // 30 of 40 beds = 75 %: below blue.
        #expect(Self.evaluate(Self.window(["icu.bedsTotal": 40, "icu.bedsOccupied": 30])).isEmpty)
        // 37 of 40 = 92.5 %: orange.
        let firing = Self.evaluate(Self.window(["icu.bedsTotal": 40, "icu.bedsOccupied": 37])).first
        #expect(firing?.level == .orange)
        #expect(firing?.value == 92.5)
        #expect(firing?.threshold == 90)
    }

    @Test func epidemicAtEveryLevel() {
        // Fever clinic positive rate 5 / 10 / 20 / 30 % of 100 visits. One day only: the
        // detectors have no series and stay silent.
        for (positives, level) in zip([5, 10, 20, 30], Self.levels) {
            let firings = Self.evaluate(Self.window(["feverClinic.visits": 100, "feverClinic.positives": positives]))
            #expect(firings.map(\.ruleId) == ["fever_positive_rate"])
            #expect(firings.first?.pressure == .epidemic)
            #expect(firings.first?.level == level)
            #expect(firings.first?.value == Double(positives))
        }
        #expect(Self.evaluate(Self.window(["feverClinic.visits": 100, "feverClinic.positives": 4])).isEmpty)
        // Nucleic acid positive rate: 1 of 1000 = 0.1 % → blue; 20 of 1000 = 2 % → red.
        #expect(Self.evaluate(Self.window(["nucleicAcid.samplesTested": 1000, "nucleicAcid.positives": 1])).map(\.level) == [.blue])
        #expect(Self.evaluate(Self.window(["nucleicAcid.samplesTested": 1000, "nucleicAcid.positives": 20])).map(\.level) == [.red])
    }

    @Test(arguments: [
        (CatalogKind.drug, Pressure.drugStock, "drug_days_of_supply"),
        (.material, .materialStock, "material_days_of_supply"),
    ])
    func stockAtEveryLevel(kind: CatalogKind, pressure: Pressure, ruleId: String) {
        // One reported day, consumption 10: days of supply = stock / 10 → 7 / 5 / 3 / 1.
        for (stock, level) in zip([70, 50, 30, 10], Self.levels) {
            let firings = Self.evaluate(Self.stock(kind, stock: stock, consumed: 10))
            #expect(firings.map(\.ruleId) == [ruleId])
            #expect(firings.first?.pressure == pressure)
            #expect(firings.first?.level == level, "stock \(stock)")
            #expect(firings.first?.value == Double(stock) / 10)
        }
        // 0 in stock: red.
        #expect(Self.evaluate(Self.stock(kind, stock: 0, consumed: 10)).first?.level == .red)
        // 15 days: not reached.
        #expect(Self.evaluate(Self.stock(kind, stock: 71, consumed: 10)).isEmpty)
        // No consumption: no days of supply, no warning.
        #expect(Self.evaluate(Self.stock(kind, stock: 5, consumed: 0)).isEmpty)
    }

    @Test func rulesApplyOnlyToTheirScopeLevels() {
        // fever_waiting_patients is campus only.
        let waiting = Self.window(["feverClinic.waitingPatients": 200])
        #expect(Self.evaluate(waiting, level: .campus).map(\.ruleId) == ["fever_waiting_patients"])
        #expect(Self.evaluate(waiting, level: .campus).first?.level == .red)
        #expect(Self.evaluate(waiting, level: .district).isEmpty)
        #expect(Self.evaluate(waiting, level: .city).isEmpty)
        // fever_positive_rate is city and district only.
        let positives = Self.window(["feverClinic.visits": 100, "feverClinic.positives": 30])
        #expect(Self.evaluate(positives, level: .city).map(\.ruleId) == ["fever_positive_rate"])
        #expect(Self.evaluate(positives, level: .district).map(\.ruleId) == ["fever_positive_rate"])
        #expect(Self.evaluate(positives, level: .campus).isEmpty)
        // ICU applies everywhere.
        for level in ScopeLevel.allCases {
            #expect(Self.evaluate(Self.window(["icu.bedsTotal": 10, "icu.bedsOccupied": 10]), level: level).map(\.ruleId) == ["icu_occupancy"])
        }
    }

    @Test func nothingFiresWithoutFiguresForTheDay() {
        #expect(Self.evaluate(Self.window([DayFigures(counts: ["icu.bedsTotal": 10, "icu.bedsOccupied": 10]), nil])).isEmpty)
        let noDays: [DayFigures?] = []
        #expect(Self.evaluate(Self.window(noDays)).isEmpty)
        #expect(Self.evaluate(Self.window([String: Int]())).isEmpty)
    }

    @Test func detectorsRespectMinimumValue() {
        // feverClinic.visits: 10 on 7 days (sigma floored to 1), then the judged day. With 8 days
        // only C1 has a series long enough. C1 = (x − 10) / 1; minimum of the standard table 20.
        func visits(_ today: Int) -> FiguresWindow {
            Self.window(
                Array(repeating: DayFigures(counts: ["feverClinic.visits": 10]), count: 7) + [DayFigures(counts: ["feverClinic.visits": today])]
            )
        }
        // 19: C1 = 9 would be orange, but 19 < 20.
        #expect(Self.evaluate(visits(19)).isEmpty)
        // 20: C1 = 10 ≥ 8 → orange.
        let firings = Self.evaluate(visits(20))
        #expect(firings.map(\.ruleId) == ["ears_c1_fever_visits"])
        let firing = firings.first
        #expect(firing?.level == .orange)
        #expect(firing?.value == 10)
        #expect(firing?.threshold == 8)
        #expect(firing?.pressure == .epidemic)
        #expect(firing?.method == .earsC1)
        #expect(firing?.statistic?.baselineMean == 10)
        #expect(firing?.statistic?.baselineSigma == 1)
        #expect(firing?.statistic?.observed == 20)
        // Detectors are city and district rules.
        #expect(Self.evaluate(visits(20), level: .district).map(\.ruleId) == ["ears_c1_fever_visits"])
        #expect(Self.evaluate(visits(20), level: .campus).isEmpty)
    }

    @Test func minimumValueOfACustomDetector() {
        // Baseline 3,7,3,5,7,3,7 (mean 5, sigma 2), judged 11 → C1 = 3 → blue (threshold 3).
        let series = [3, 7, 3, 5, 7, 3, 7, 11].map { DayFigures(counts: ["feverClinic.positives": $0]) }
        func table(minimum: Double?) -> WarningRuleTable {
            WarningRuleTable(
                version: 1,
                autoResolveAfterDays: 3,
                rules: [
                    WarningRule(
                        id: "c1",
                        title: "C1",
                        pressure: .epidemic,
                        metric: "feverClinic.positives",
                        method: .earsC1,
                        thresholds: .init(blue: 3, red: 10),
                        scopes: [.campus],
                        minimumValue: minimum
                    )
                ]
            )
        }
        for (minimum, fires) in [(nil, true), (11.0, true), (11.5, false), (12.0, false), (0.0, true)] as [(Double?, Bool)] {
            let firings = Self.evaluate(Self.window(series), level: .campus, table: table(minimum: minimum))
            #expect(firings.map(\.level) == (fires ? [.blue] : []), "minimum \(String(describing: minimum))")
        }
    }

    @Test func allFourDetectorsOnASpike() {
        // 45 days (the engine's window): visits 10 on days 0…43, 40 on day 44. Flat → sigma 1.
        //   C1 = C2 = (40 − 10) / 1 = 30 → red (≥ 12)
        //   C3 = max(0, 0 − 1) + max(0, 0 − 1) + max(0, 30 − 1) = 29 → red (≥ 24)
        //   CUSUM: run days 31…43 have z = 0 → S = 0; day 44: 0 + 30 − 0.5 = 29.5 → yellow (15 ≤ 29.5 < 30)
        #expect(WarningEngine.windowDays == 45)
        let days = (0..<45).map { DayFigures(counts: ["feverClinic.visits": $0 == 44 ? 40 : 10]) }
        let firings = Self.evaluate(Self.window(days), level: .district)
        let byRule = Dictionary(uniqueKeysWithValues: firings.map { ($0.ruleId, $0) })
        #expect(Set(byRule.keys) == ["ears_c1_fever_visits", "ears_c2_fever_visits", "ears_c3_fever_visits", "cusum_fever_visits"])
        #expect(byRule["ears_c1_fever_visits"]?.level == .red)
        #expect(byRule["ears_c1_fever_visits"]?.value == 30)
        #expect(byRule["ears_c2_fever_visits"]?.level == .red)
        #expect(byRule["ears_c2_fever_visits"]?.value == 30)
        #expect(byRule["ears_c3_fever_visits"]?.level == .red)
        #expect(byRule["ears_c3_fever_visits"]?.value == 29)
        #expect(byRule["cusum_fever_visits"]?.level == .yellow)
        #expect(byRule["cusum_fever_visits"]?.value == 29.5)
        #expect(byRule["cusum_fever_visits"]?.threshold == 15)
        #expect(firings.allSatisfy { $0.pressure == .epidemic })
    }

    @Test func aThresholdRuleBelowBlueDoesNotFire() {
        let counts = [
            "icu.bedsTotal": 100, "icu.bedsOccupied": 79, "feverClinic.avgWaitMinutes": 29, "feverClinic.visits": 100,
            "feverClinic.positives": 4, "feverClinic.isolationRoomsTotal": 10, "feverClinic.isolationRoomsOccupied": 7,
        ]
        #expect(Self.evaluate(Self.window(counts), level: .city).isEmpty)
        #expect(Self.evaluate(Self.window(counts), level: .campus).isEmpty)
        // Average waiting time 30 minutes: blue.
        var reached = counts
        reached["feverClinic.avgWaitMinutes"] = 30
        #expect(Self.evaluate(Self.window(reached)).map(\.ruleId) == ["fever_wait_time"])
    }

    // MARK: changes

    @Test func aNewFiringOpens() {
        let firing = Self.icuFiring(90)
        #expect(WarningEngine.changes(active: [], firings: [firing], autoResolveAfterDays: 3) == [.open(firing)])
        // A warning of another rule does not absorb it.
        let other = ActiveWarning(id: 1, ruleId: "fever_wait_time", level: .red, status: .open, clearDays: 0)
        #expect(WarningEngine.changes(active: [other], firings: [firing], autoResolveAfterDays: 3) == [.open(firing), .clear(id: 1, clearDays: 1)])
    }

    @Test func aPersistingFiringUpdates() {
        let firing = Self.icuFiring(90)  // orange
        for status in [WarningStatus.open, .acknowledged] {
            let active = ActiveWarning(id: 7, ruleId: "icu_occupancy", level: .orange, status: status, clearDays: 0)
            #expect(
                WarningEngine.changes(active: [active], firings: [firing], autoResolveAfterDays: 3)
                    == [.update(id: 7, firing, escalated: false)]
            )
        }
        // A warning that had been clear for a day is updated too.
        let clearing = ActiveWarning(id: 7, ruleId: "icu_occupancy", level: .orange, status: .open, clearDays: 2)
        #expect(
            WarningEngine.changes(active: [clearing], firings: [firing], autoResolveAfterDays: 3)
                == [.update(id: 7, firing, escalated: false)]
        )
    }

    @Test func aHigherLevelEscalates() {
        let active = ActiveWarning(id: 7, ruleId: "icu_occupancy", level: .orange, status: .acknowledged, clearDays: 0)
        let red = Self.icuFiring(96)
        #expect(red.level == .red)
        #expect(WarningEngine.changes(active: [active], firings: [red], autoResolveAfterDays: 3) == [.update(id: 7, red, escalated: true)])
        let blue = ActiveWarning(id: 8, ruleId: "icu_occupancy", level: .blue, status: .open, clearDays: 0)
        let yellow = Self.icuFiring(85)
        #expect(WarningEngine.changes(active: [blue], firings: [yellow], autoResolveAfterDays: 3) == [.update(id: 8, yellow, escalated: true)])
    }

    @Test func aLowerLevelDoesNotEscalate() {
        let active = ActiveWarning(id: 7, ruleId: "icu_occupancy", level: .red, status: .open, clearDays: 0)
        let blue = Self.icuFiring(81)
        #expect(blue.level == .blue)
        #expect(WarningEngine.changes(active: [active], firings: [blue], autoResolveAfterDays: 3) == [.update(id: 7, blue, escalated: false)])
    }

    @Test func aWarningWhoseConditionIsGoneCountsClearDaysThenResolves() {
        func change(clearDays: Int, autoResolve: Int = 3) -> [WarningChange] {
            let active = ActiveWarning(id: 9, ruleId: "icu_occupancy", level: .yellow, status: .open, clearDays: clearDays)
            return WarningEngine.changes(active: [active], firings: [], autoResolveAfterDays: autoResolve)
        }
        #expect(change(clearDays: 0) == [.clear(id: 9, clearDays: 1)])
        #expect(change(clearDays: 1) == [.clear(id: 9, clearDays: 2)])
        #expect(change(clearDays: 2) == [.resolve(id: 9)])
        #expect(change(clearDays: 5) == [.resolve(id: 9)])
        #expect(change(clearDays: 0, autoResolve: 1) == [.resolve(id: 9)])
        // Acknowledged warnings resolve the same way.
        let acknowledged = ActiveWarning(id: 4, ruleId: "icu_occupancy", level: .red, status: .acknowledged, clearDays: 2)
        #expect(WarningEngine.changes(active: [acknowledged], firings: [], autoResolveAfterDays: 3) == [.resolve(id: 4)])
    }

    @Test func resolvedWarningsAreIgnored() {
        let resolved = ActiveWarning(id: 3, ruleId: "icu_occupancy", level: .red, status: .resolved, clearDays: 3)
        #expect(WarningEngine.changes(active: [resolved], firings: [], autoResolveAfterDays: 3).isEmpty)
        let firing = Self.icuFiring(96)
        #expect(WarningEngine.changes(active: [resolved], firings: [firing], autoResolveAfterDays: 3) == [.open(firing)])
    }

    @Test func mixedDay() {
        let firing = Self.icuFiring(90)
        let active = [
            ActiveWarning(id: 5, ruleId: "material_days_of_supply", level: .red, status: .open, clearDays: 2),
            ActiveWarning(id: 2, ruleId: "fever_wait_time", level: .blue, status: .open, clearDays: 0),
            ActiveWarning(id: 1, ruleId: "icu_occupancy", level: .yellow, status: .acknowledged, clearDays: 1),
        ]
        #expect(
            WarningEngine.changes(active: active, firings: [firing], autoResolveAfterDays: 3)
                == [.update(id: 1, firing, escalated: true), .clear(id: 2, clearDays: 1), .resolve(id: 5)]
        )
    }
}
