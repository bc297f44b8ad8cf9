import HealthCloudDomain
import Testing

/// Day figures, their combination up the hierarchy, and the derived cockpit metrics.
@Suite struct CockpitMetricsTests {
    static func metric(_ id: String) -> Metric { Metrics.named(id)! }

    static func drug(_ code: String, stock: Int, consumed: Int) -> [CatalogKind: [String: StockTotal]] {
        [.drug: [code: StockTotal(stock: stock, consumed: consumed)]]
    }

    // MARK: combine

    @Test func combineSumsCountsAndStock() {
        let a = DayFigures(
            counts: ["icu.bedsTotal": 10, "icu.bedsOccupied": 7, "feverClinic.visits": 100],
            stock: [.drug: ["PAXLOVID": StockTotal(stock: 100, consumed: 10)], .material: ["N95": StockTotal(stock: 5, consumed: 1)]]
        )
        let b = DayFigures(
            counts: ["icu.bedsTotal": 20, "icu.bedsOccupied": 5, "vaccination.doses": 3],
            stock: [.drug: ["PAXLOVID": StockTotal(stock: 50, consumed: 5), "AZVUDINE": StockTotal(stock: 8, consumed: 2)]]
        )
        let c = DayFigures(counts: [:], campusesReported: 3)
        let combined = DayFigures.combine([a, b, c])
        #expect(combined.counts == ["icu.bedsTotal": 30, "icu.bedsOccupied": 12, "feverClinic.visits": 100, "vaccination.doses": 3])
        #expect(combined.stock[.drug]?["PAXLOVID"] == StockTotal(stock: 150, consumed: 15))
        #expect(combined.stock[.drug]?["AZVUDINE"] == StockTotal(stock: 8, consumed: 2))
        #expect(combined.stock[.material]?["N95"] == StockTotal(stock: 5, consumed: 1))
        #expect(combined.campusesReported == 5)
        #expect(combined["icu.bedsTotal"] == 30)
        #expect(combined["icu.convertibleBeds"] == nil)
    }

    @Test func combineWeighsAveragesByVolume() {
        // Wait: (30 × 100 + 50 × 300) / (100 + 300) = (3000 + 15000) / 400 = 45 minutes —
        // not the plain mean (30 + 50) / 2 = 40.
        let a = DayFigures(counts: ["feverClinic.visits": 100, "feverClinic.avgWaitMinutes": 30])
        let b = DayFigures(counts: ["feverClinic.visits": 300, "feverClinic.avgWaitMinutes": 50])
        let combined = DayFigures.combine([a, b])
        #expect(combined["feverClinic.avgWaitMinutes"] == 45)
        #expect(combined["feverClinic.visits"] == 400)
        // Rounded to a whole number: (10 × 100 + 21 × 200) / 300 = 5200 / 300 = 17.33 → 17.
        let rounded = DayFigures.combine([
            DayFigures(counts: ["feverClinic.visits": 100, "feverClinic.avgWaitMinutes": 10]),
            DayFigures(counts: ["feverClinic.visits": 200, "feverClinic.avgWaitMinutes": 21]),
        ])
        #expect(rounded["feverClinic.avgWaitMinutes"] == 17)
        // (10 × 1 + 12 × 3) / 4 = 46 / 4 = 11.5 → 12 (half away from zero).
        let half = DayFigures.combine([
            DayFigures(counts: ["feverClinic.visits": 1, "feverClinic.avgWaitMinutes": 10]),
            DayFigures(counts: ["feverClinic.visits": 3, "feverClinic.avgWaitMinutes": 12]),
        ])
        #expect(half["feverClinic.avgWaitMinutes"] == 12)
    }

    @Test func combineWeighsTurnaroundBySamplesTested() {
        // (4 × 1000 + 10 × 500) / 1500 = 9000 / 1500 = 6 hours.
        let combined = DayFigures.combine([
            DayFigures(counts: ["nucleicAcid.samplesTested": 1000, "nucleicAcid.avgTurnaroundHours": 4]),
            DayFigures(counts: ["nucleicAcid.samplesTested": 500, "nucleicAcid.avgTurnaroundHours": 10]),
        ])
        #expect(combined["nucleicAcid.avgTurnaroundHours"] == 6)
        #expect(combined["nucleicAcid.samplesTested"] == 1500)
    }

    @Test func combineIgnoresAveragesWithoutVolume() {
        // A campus with no visits (or without the volume field) carries no weight:
        // (40 × 200 + 90 × 0) / 200 = 40.
        let combined = DayFigures.combine([
            DayFigures(counts: ["feverClinic.visits": 200, "feverClinic.avgWaitMinutes": 40]),
            DayFigures(counts: ["feverClinic.visits": 0, "feverClinic.avgWaitMinutes": 90]),
            DayFigures(counts: ["feverClinic.avgWaitMinutes": 120]),
        ])
        #expect(combined["feverClinic.avgWaitMinutes"] == 40)
        // Only weightless parts: 0.
        let none = DayFigures.combine([DayFigures(counts: ["feverClinic.visits": 0, "feverClinic.avgWaitMinutes": 90])])
        #expect(none["feverClinic.avgWaitMinutes"] == 0)
        #expect(DayFigures.combine([]).campusesReported == 0)
        #expect(DayFigures.combine([]).counts.isEmpty)
    }

    // MARK: FiguresWindow

    @Test func windowFromAByDayMap() {
        let last = Day("2026-11-20")!
        let a = DayFigures(counts: ["icu.bedsTotal": 1])
        let b = DayFigures(counts: ["icu.bedsTotal": 2])
        let window = FiguresWindow(lastDay: last, length: 3, from: [last: a, last - 2: b, last - 5: a])
        #expect(window.days == [b, nil, a])
        #expect(window.today == a)
        #expect(window.series(of: Self.metric("icu.bedsTotal")) == [2, nil, 1])
        #expect(window.value(of: Self.metric("icu.bedsTotal")) == 1)
        let gap = FiguresWindow(lastDay: last, length: 2, from: [last - 1: a])
        #expect(gap.today == nil)
        #expect(gap.value(of: Self.metric("icu.bedsTotal")) == nil)
        #expect(FiguresWindow(lastDay: last, days: []).value(of: Self.metric("icu.bedsTotal")) == nil)
    }

    // MARK: rates

    @Test func occupancyRate() {
        let rate = Self.metric("icu.occupancyRate")
        #expect(rate.unit == "%")
        #expect(rate.decimals == 1)
        #expect(rate.domain == "icu")
        #expect(rate.value([DayFigures(counts: ["icu.bedsTotal": 40, "icu.bedsOccupied": 28])], 0) == 70)
        // 3 / 7 = 42.857… % → 42.9
        #expect(rate.value([DayFigures(counts: ["icu.bedsTotal": 7, "icu.bedsOccupied": 3])], 0) == 42.9)
        // No beds: undefined, not infinite.
        #expect(rate.value([DayFigures(counts: ["icu.bedsTotal": 0, "icu.bedsOccupied": 0])], 0) == nil)
        #expect(rate.value([DayFigures(counts: ["icu.bedsTotal": 0, "icu.bedsOccupied": 3])], 0) == nil)
        #expect(rate.value([DayFigures(counts: ["icu.bedsTotal": 10])], 0) == nil)
        #expect(rate.value([nil], 0) == nil)
        #expect(rate.value([], 0) == nil)
        #expect(rate.value([DayFigures(counts: ["icu.bedsTotal": 10, "icu.bedsOccupied": 5])], 1) == nil)
    }

    @Test func otherDerivedMetrics() {
        let day = DayFigures(counts: [
            "icu.bedsTotal": 40, "icu.bedsOccupied": 28, "feverClinic.visits": 120, "feverClinic.positives": 6,
            "nucleicAcid.samplesTested": 790, "nucleicAcid.positives": 2,
        ])
        #expect(Self.metric("icu.freeBeds").value([day], 0) == 12)
        #expect(Self.metric("icu.freeBeds").isCount)
        // 6 / 120 = 5 %
        #expect(Self.metric("feverClinic.positiveRate").value([day], 0) == 5)
        // 2 / 790 = 0.2531… % → 0.25 (2 decimals)
        #expect(Self.metric("nucleicAcid.positiveRate").value([day], 0) == 0.25)
        // Report fields read as reported; averages are not counts.
        #expect(Self.metric("icu.bedsTotal").value([day], 0) == 40)
        #expect(Self.metric("icu.bedsTotal").isCount)
        #expect(!Self.metric("feverClinic.avgWaitMinutes").isCount)
        #expect(!Self.metric("icu.occupancyRate").isCount)
    }

    // MARK: days of supply

    @Test func daysOfSupplyAveragesTheLastSevenReportedDays() {
        // Days 0…7; day 7 judged. Day 0 (consumed 1000) is outside the 7 days; day 3 is missing.
        // Days 1, 2, 4, 5, 6, 7 consumed 10 + 20 + 30 + 10 + 20 + 30 = 120 over 6 reported days
        // → 20 a day; stock on day 7 = 300 → 300 / 20 = 15 days.
        let consumed = [1000, 10, 20, nil, 30, 10, 20, 30]
        let days: [DayFigures?] = consumed.enumerated().map { index, consumed in
            consumed.map { DayFigures(stock: Self.drug("PAXLOVID", stock: index == 7 ? 300 : 999_999, consumed: $0)) }
        }
        let metric = Self.metric("drugs.daysOfSupply.PAXLOVID")
        #expect(metric.value(days, 7) == 15)
        #expect(Metrics.daysOfSupply(days, 7, kind: .drug, code: "PAXLOVID") == 15)
        #expect(metric.unit == "天")
        #expect(metric.decimals == 1)
        #expect(metric.domain == "drugs")
        // The judged day missing: nil.
        #expect(metric.value(days, 3) == nil)
        // Another kind or code: nil.
        #expect(Metrics.daysOfSupply(days, 7, kind: .material, code: "PAXLOVID") == nil)
        #expect(Self.metric("drugs.daysOfSupply.AZVUDINE").value(days, 7) == nil)
        #expect(Self.metric("materials.daysOfSupply.PAXLOVID").value(days, 7) == nil)
    }

    @Test func daysOfSupplyAtTheStartOfTheWindowAndItemsNotReported() {
        // Day 0 consumed 6, day 1 consumed 2, day 2 reports other items only: (6 + 2) / 2 = 4 a day;
        // stock on day 1 = 10 → 2.5 days; judged day 0: 12 / 6 = 2.
        let days: [DayFigures?] = [
            DayFigures(stock: Self.drug("X", stock: 12, consumed: 6)),
            DayFigures(stock: Self.drug("X", stock: 10, consumed: 2)),
            DayFigures(stock: Self.drug("Y", stock: 10, consumed: 2)),
        ]
        #expect(Self.metric("drugs.daysOfSupply.X").value(days, 0) == 2)
        #expect(Self.metric("drugs.daysOfSupply.X").value(days, 1) == 2.5)
        #expect(Self.metric("drugs.daysOfSupply.X").value(days, 2) == nil)
        // Judged day 2: consumed 0 + 1 + 0 = 1 over 3 reported days = 1/3 a day → 10 / (1/3) = 30.
        let slow: [DayFigures?] = [
            DayFigures(stock: Self.drug("X", stock: 10, consumed: 0)),
            DayFigures(stock: Self.drug("X", stock: 10, consumed: 1)),
            DayFigures(stock: Self.drug("X", stock: 10, consumed: 0)),
        ]
        #expect(Self.metric("drugs.daysOfSupply.X").value(slow, 2) == 30)
    }

    @Test func daysOfSupplyWithoutConsumptionAndTheCap() {
        let metric = Self.metric("drugs.daysOfSupply.X")
        #expect(metric.value([DayFigures(stock: Self.drug("X", stock: 100, consumed: 0))], 0) == nil)
        // 100000 / 1 = 100000 → capped at 999.
        #expect(metric.value([DayFigures(stock: Self.drug("X", stock: 100_000, consumed: 1))], 0) == 999)
        // Empty stock: 0 days.
        #expect(metric.value([DayFigures(stock: Self.drug("X", stock: 0, consumed: 4))], 0) == 0)
        // 10 / 3 = 3.333… → 3.3
        #expect(metric.value([DayFigures(stock: Self.drug("X", stock: 10, consumed: 3))], 0) == 3.3)
    }

    @Test func minDaysOfSupplyIsTheScarcestItem() {
        let day = DayFigures(stock: [
            .drug: [
                "PAXLOVID": StockTotal(stock: 150, consumed: 10), "AZVUDINE": StockTotal(stock: 8, consumed: 2),
                "IDLE": StockTotal(stock: 1, consumed: 0),
            ],
            .material: ["N95": StockTotal(stock: 900, consumed: 100)],
        ])
        // PAXLOVID 15, AZVUDINE 4, IDLE none (no consumption) → 4.
        #expect(Self.metric("drugs.minDaysOfSupply").value([day], 0) == 4)
        #expect(Self.metric("materials.minDaysOfSupply").value([day], 0) == 9)
        let scarcest = Metrics.scarcest([day], 0, kind: .drug)
        #expect(scarcest.map { $0.code } == ["AZVUDINE", "PAXLOVID"])
        #expect(scarcest.map { $0.days } == [4, 15])
        #expect(Self.metric("drugs.minDaysOfSupply").value([DayFigures()], 0) == nil)
    }

    // MARK: names

    /// Malformed catalog metric ids are not metrics (empty segments, lower case, extra parts).
    @Test func catalogMetricIdsAreStrict() {
        #expect(Metrics.catalogItem(of: "drugs.daysOfSupply.PAXLOVID")?.code == "PAXLOVID")
        #expect(Metrics.catalogItem(of: "materials.daysOfSupply.O2_CONCENTRATOR")?.kind == .material)
        for bad in [
            "drugs..daysOfSupply.PAXLOVID", ".drugs.daysOfSupply.PAXLOVID", "drugs.daysOfSupply.", "drugs.daysOfSupply.nope",
            "materials.daysOfSupply.A.B", "vaccines.daysOfSupply.PAXLOVID", "drugs.daysofsupply.PAXLOVID",
            "drugs.daysOfSupply._X",
        ] {
            #expect(Metrics.catalogItem(of: bad) == nil, "\(bad)")
            #expect(Metrics.named(bad) == nil, "\(bad)")
        }
    }

    @Test func namedMetrics() {
        let paxlovid = Metrics.named("drugs.daysOfSupply.PAXLOVID")
        #expect(paxlovid?.id == "drugs.daysOfSupply.PAXLOVID")
        #expect(paxlovid?.label == "PAXLOVID 可用天数")
        #expect(Metrics.named("drugs.daysOfSupply.PAXLOVID", label: "奈玛特韦")?.label == "奈玛特韦可用天数")
        #expect(Metrics.named("materials.daysOfSupply.N95")?.domain == "materials")
        // Catalog codes have no dots.
        #expect(Metrics.named("drugs.daysOfSupply.A.B") == nil)
        for unknown in [
            "", "icu", "icu.nonsense", "drugs.daysOfSupply", "drugs.daysOfSupply.", "vaccines.daysOfSupply.X",
            "drugs.stock.PAXLOVID", "drugs.minDaysOfSupply.X",
        ] {
            #expect(Metrics.named(unknown) == nil, "\(unknown)")
        }
        for id in Metrics.ids {
            #expect(Metrics.named(id)?.id == id)
        }
        #expect(Metrics.ids.contains("icu.occupancyRate"))
        #expect(Metrics.ids.contains("medicalService.emergencyLoadIndex"))
        #expect(Set(Metrics.ids).count == Metrics.ids.count)
    }

    // MARK: emergency load

    static func emergency(_ visits: [Int?]) -> [DayFigures?] {
        visits.map { $0.map { DayFigures(counts: ["medicalService.emergencyVisits": $0]) } }
    }

    @Test func emergencyLoadIndexNeedsFourteenBaselineDays() {
        let index = Self.metric("medicalService.emergencyLoadIndex")
        // 14 baseline days of 100, today 150 → 150 / 100 × 100 = 150 %.
        let fourteen = Self.emergency(Array(repeating: 100, count: 14) + [150])
        #expect(index.value(fourteen, 14) == 150)
        // 13 baseline days: nil.
        let thirteen = Self.emergency(Array(repeating: 100, count: 13) + [150])
        #expect(index.value(thirteen, 13) == nil)
        // 28 days with 14 missing still count 14: mean 100 → 80 / 100 = 80 %.
        let gappy = Self.emergency((0..<28).map { $0.isMultiple(of: 2) ? 100 : nil } + [80])
        #expect(index.value(gappy, 28) == 80)
        // 28 days with 15 missing: 13 left → nil.
        let sparse = Self.emergency((0..<28).map { $0.isMultiple(of: 2) && $0 != 0 ? 100 : nil } + [80])
        #expect(index.value(sparse, 28) == nil)
        // Missing today: nil.
        #expect(index.value(Self.emergency(Array(repeating: 100, count: 14) + [nil]), 14) == nil)
    }

    @Test func emergencyLoadIndexLooksBackTwentyEightDays() {
        let index = Self.metric("medicalService.emergencyLoadIndex")
        // Day 0 (1000) is 29 days before the judged day 29: outside the baseline.
        // Days 1…28: fourteen of 100 and fourteen of 200 → mean 150; today 120 → 120 / 150 = 80 %.
        let visits: [Int?] = [1000] + (1...28).map { $0 <= 14 ? 100 : 200 } + [120]
        #expect(index.value(Self.emergency(visits), 29) == 80)
        // Rounded to a whole percent: 100 / 150 = 66.67 % → 67.
        let rounded: [Int?] = (1...28).map { $0 <= 14 ? 100 : 200 } + [100]
        #expect(index.value(Self.emergency(rounded), 28) == 67)
        // A zero baseline: nil.
        #expect(index.value(Self.emergency(Array(repeating: 0, count: 14) + [5]), 14) == nil)
    }
}
