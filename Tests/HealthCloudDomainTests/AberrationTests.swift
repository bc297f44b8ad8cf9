import HealthCloudDomain
import Testing

/// EARS C1, C2, C3 and the standardized CUSUM against series whose statistics are worked out
/// by hand in the comments (mean, sample standard deviation with n − 1, statistic). The
/// numbers were also cross-checked with an independent Python implementation
/// (`statistics.mean` / `statistics.stdev`).
@Suite struct AberrationTests {
    /// Baseline used throughout: 3, 7, 3, 5, 7, 3, 7.
    /// mean = (3+7+3+5+7+3+7) / 7 = 35 / 7 = 5
    /// deviations −2, 2, −2, 0, 2, −2, 2 → squares 4+4+4+0+4+4+4 = 24
    /// variance = 24 / (7 − 1) = 4 → sigma = 2
    static let baseline: [Double?] = [3, 7, 3, 5, 7, 3, 7]

    /// Period-7 extension of `baseline` to 9 days: every 7-day window of it (0…6, 1…7, 2…8)
    /// holds the same multiset {3,3,3,5,7,7,7}, so each has mean 5 and sigma 2.
    static let periodic: [Double?] = [3, 7, 3, 5, 7, 3, 7, 3, 7]

    static func close(_ a: Double?, _ b: Double, tolerance: Double = 1e-9) -> Bool {
        guard let a else { return false }
        return abs(a - b) < tolerance
    }

    static func check(
        _ statistic: Aberration.Statistic?,
        value: Double,
        mean: Double,
        sigma: Double,
        observed: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(statistic != nil, sourceLocation: sourceLocation)
        guard let statistic else { return }
        #expect(close(statistic.value, value), "value \(statistic.value) ≠ \(value)", sourceLocation: sourceLocation)
        #expect(close(statistic.baselineMean, mean), "mean \(statistic.baselineMean) ≠ \(mean)", sourceLocation: sourceLocation)
        #expect(close(statistic.baselineSigma, sigma), "sigma \(statistic.baselineSigma) ≠ \(sigma)", sourceLocation: sourceLocation)
        #expect(close(statistic.observed, observed), "observed \(statistic.observed) ≠ \(observed)", sourceLocation: sourceLocation)
    }

    @Test func minimumBaselineIsFive() {
        #expect(Aberration.minimumBaseline == 5)
    }

    // MARK: C1

    @Test func c1AgainstTheSevenDaysJustBefore() {
        // C1 = (11 − 5) / 2 = 3
        Self.check(Aberration.c1(Self.baseline + [11]), value: 3, mean: 5, sigma: 2, observed: 11)
        // Order of the baseline does not matter; a value below the mean is negative: (1 − 5) / 2 = −2
        Self.check(Aberration.c1([7, 7, 7, 5, 3, 3, 3, 1]), value: -2, mean: 5, sigma: 2, observed: 1)
        // Only the last 7 days before the judged day count: a leading 1000 is ignored.
        Self.check(Aberration.c1([1000] + Self.baseline + [11]), value: 3, mean: 5, sigma: 2, observed: 11)
    }

    @Test func c1WithANonIntegerSigma() {
        // Baseline 1…7: mean 28/7 = 4; squares 9+4+1+0+1+4+9 = 28; variance 28/6 = 14/3;
        // sigma = √(14/3) = 2.160246899469287; C1 = (10 − 4) / √(14/3) = 2.7774602993176543
        let statistic = Aberration.c1([1, 2, 3, 4, 5, 6, 7, 10])
        Self.check(statistic, value: 2.7774602993176543, mean: 4, sigma: 2.160246899469287, observed: 10)
    }

    @Test func flatBaselineIsFlooredAtSigmaOne() {
        // 4 ×7: mean 4, sample sd 0 → floored to 1; C1 = (6 − 4) / 1 = 2
        Self.check(Aberration.c1([4, 4, 4, 4, 4, 4, 4, 6]), value: 2, mean: 4, sigma: 1, observed: 6)
        // Custom floor 0.5: C1 = (6 − 4) / 0.5 = 4
        Self.check(Aberration.c1([4, 4, 4, 4, 4, 4, 4, 6], minimumSigma: 0.5), value: 4, mean: 4, sigma: 0.5, observed: 6)
        // The floor does not touch a sigma above it (2 stays 2).
        Self.check(Aberration.c1(Self.baseline + [11], minimumSigma: 1.5), value: 3, mean: 5, sigma: 2, observed: 11)
        // A flat baseline with a flat day is 0, not NaN.
        Self.check(Aberration.c1([4, 4, 4, 4, 4, 4, 4, 4]), value: 0, mean: 4, sigma: 1, observed: 4)
    }

    @Test func c1IsNilWhenTheJudgedDayIsMissingOrTheSeriesIsTooShort() {
        #expect(Aberration.c1(Self.baseline + [nil]) == nil)
        #expect(Aberration.c1(Self.baseline) == nil)  // 7 days: no judged day after a 7-day baseline
        #expect(Aberration.c1([]) == nil)
        #expect(Aberration.c1([5]) == nil)
    }

    @Test func c1LeavesMissingBaselineDaysOut() {
        // Present: 3, 3, 5, 7, 7 → mean 25/5 = 5; squares 4+4+0+4+4 = 16; variance 16/4 = 4;
        // sigma 2; C1 = (9 − 5) / 2 = 2
        Self.check(Aberration.c1([3, nil, 3, 5, 7, nil, 7, 9]), value: 2, mean: 5, sigma: 2, observed: 9)
        // Only 4 present baseline days (< 5): nil.
        #expect(Aberration.c1([3, nil, nil, 5, 7, nil, 7, 9]) == nil)
        #expect(Aberration.c1([nil, nil, nil, nil, nil, nil, nil, 9]) == nil)
    }

    // MARK: C2

    @Test func c2SkipsATwoDayGuardBand() {
        // Baseline days 0…6 (mean 5, sigma 2), guard days 7 and 8, judged day 9:
        // C2 = (11 − 5) / 2 = 3, whatever the guard days hold.
        for guardDays: [Double?] in [[100, 200], [0, 0], [nil, nil], [5, 5], [11, 11]] {
            Self.check(Aberration.c2(Self.baseline + guardDays + [11]), value: 3, mean: 5, sigma: 2, observed: 11)
        }
        // C1 of the same series does see the guard days: baseline 5,7,3,7,100,200 … differs.
        let c1 = Aberration.c1(Self.baseline + [100, 200, 11])
        #expect(c1 != nil && !Self.close(c1?.value, 3))
        // Days before the 7 baseline days are ignored.
        Self.check(Aberration.c2([1000] + Self.baseline + [0, 0, 11]), value: 3, mean: 5, sigma: 2, observed: 11)
    }

    @Test func c2FlatBaselineAndMissingDays() {
        // Flat 8 ×7: sigma floored to 1; C2 = (12 − 8) / 1 = 4
        Self.check(Aberration.c2([8, 8, 8, 8, 8, 8, 8, 50, 50, 12]), value: 4, mean: 8, sigma: 1, observed: 12)
        // Missing baseline days left out: present 3,3,5,7,7 → mean 5, sigma 2; C2 = (13 − 5) / 2 = 4
        Self.check(Aberration.c2([3, nil, 3, 5, 7, nil, 7, 1, 1, 13]), value: 4, mean: 5, sigma: 2, observed: 13)
        // Four present baseline days: nil.
        #expect(Aberration.c2([3, nil, nil, 5, 7, nil, 7, 1, 1, 13]) == nil)
        // Missing judged day: nil.
        #expect(Aberration.c2(Self.baseline + [1, 1, nil]) == nil)
        // 9 days (7 baseline + 2 guard, but no judged day after them): nil.
        #expect(Aberration.c2(Self.baseline + [1, 11]) == nil)
    }

    // MARK: C3

    @Test func c3SumsC2AboveOneOverThreeDays() {
        // Days 0…8 periodic (every 7-window: mean 5, sigma 2), then 9, 4, 15:
        //   C2(day 9)  baseline 0…6 = (9 − 5) / 2 = 2     → max(0, 2 − 1)    = 1
        //   C2(day 10) baseline 1…7 = (4 − 5) / 2 = −0.5  → max(0, −1.5)     = 0
        //   C2(day 11) baseline 2…8 = (15 − 5) / 2 = 5    → max(0, 5 − 1)    = 4
        //   C3 = 1 + 0 + 4 = 5; baseline statistics are those of day 11's C2.
        let series = Self.periodic + [9, 4, 15]
        Self.check(Aberration.c3(series), value: 5, mean: 5, sigma: 2, observed: 15)
        Self.check(Aberration.c2(series), value: 5, mean: 5, sigma: 2, observed: 15)
    }

    @Test func c3IsZeroWhenNoDayIsMoreThanOneSigmaUp() {
        // C2 values (7 − 5)/2 = 1, (6 − 5)/2 = 0.5, (3 − 5)/2 = −1 → all clipped to 0.
        Self.check(Aberration.c3(Self.periodic + [7, 6, 3]), value: 0, mean: 5, sigma: 2, observed: 3)
    }

    @Test func c3WithAFlatBaseline() {
        // 5 ×9 (sigma floored to 1), then 5, 8, 9: C2 = 0, 3, 4 → 0 + 2 + 3 = 5
        let series: [Double?] = [5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 8, 9]
        Self.check(Aberration.c3(series), value: 5, mean: 5, sigma: 1, observed: 9)
    }

    @Test func c3IsNilWhenTooShortOrTheJudgedDayIsMissing() {
        // 11 days: the C2 of day 8 would need a baseline starting at day −1.
        #expect(Aberration.c3(Array(Self.periodic.dropFirst()) + [9, 4, 15]) == nil)
        #expect(Aberration.c3(Self.periodic + [9, 4, nil]) == nil)
    }

    // MARK: CUSUM

    @Test func cusumAccumulatesZMinusK() {
        // baselineDays 7, guardDays 2, runDays 3, k 0.5. Run days 9, 10, 11; their baselines
        // (0…6, 1…7, 2…8) all have mean 5, sigma 2.
        //   z9  = (9 − 5)/2  = 2   → S = max(0, 0 + 2 − 0.5)   = 1.5
        //   z10 = (10 − 5)/2 = 2.5 → S = max(0, 1.5 + 2.5 − 0.5) = 3.5
        //   z11 = (12 − 5)/2 = 3.5 → S = max(0, 3.5 + 3.5 − 0.5) = 6.5
        let statistic = Aberration.cusum(Self.periodic + [9, 10, 12], baselineDays: 7, runDays: 3)
        Self.check(statistic, value: 6.5, mean: 5, sigma: 2, observed: 12)
    }

    @Test func cusumResetsAtZero() {
        //   z9  = 2    → S = 1.5
        //   z10 = (1 − 5)/2 = −2 → S = max(0, 1.5 − 2 − 0.5) = max(0, −1) = 0
        //   z11 = 3.5  → S = 0 + 3.5 − 0.5 = 3
        let statistic = Aberration.cusum(Self.periodic + [9, 1, 12], baselineDays: 7, runDays: 3)
        Self.check(statistic, value: 3, mean: 5, sigma: 2, observed: 12)
        // k = 1 instead: 2 − 1 = 1; 1 − 2 − 1 < 0 → 0; 0 + 3.5 − 1 = 2.5
        Self.check(
            Aberration.cusum(Self.periodic + [9, 1, 12], k: 1, baselineDays: 7, runDays: 3),
            value: 2.5,
            mean: 5,
            sigma: 2,
            observed: 12
        )
    }

    @Test func cusumCarriesOverAMissingRunDay() {
        // z9 = 2 → 1.5; day 10 missing → 1.5; z11 = 3.5 → 1.5 + 3.5 − 0.5 = 4.5
        let statistic = Aberration.cusum(Self.periodic + [9, nil, 12], baselineDays: 7, runDays: 3)
        Self.check(statistic, value: 4.5, mean: 5, sigma: 2, observed: 12)
    }

    @Test func cusumIsNilWhenTooShortOrTheJudgedDayIsMissing() {
        // 11 days < runDays 3 + guard 2 + baseline 7 − 1 + 1 = 12.
        #expect(Aberration.cusum(Array(Self.periodic.dropFirst()) + [9, 10, 12], baselineDays: 7, runDays: 3) == nil)
        #expect(Aberration.cusum(Self.periodic + [9, 10, nil], baselineDays: 7, runDays: 3) == nil)
    }

    @Test func cusumWithTheDefaults() {
        // Defaults: k 0.5, baseline 28, guard 2, run 14 → at least 44 days. 10 on days 0…40,
        // then 12, 13, 14. Day t's baseline is days t−30…t−3, all 10 for t ≤ 43 (flat →
        // sigma 1). Run days 30…40: z = 0 → S stays 0.
        //   z41 = 2 → 1.5;  z42 = 3 → 1.5 + 2.5 = 4;  z43 = 4 → 4 + 3.5 = 7.5
        let series: [Double?] = Array(repeating: 10, count: 41) + [12, 13, 14]
        #expect(series.count == 44)
        Self.check(Aberration.cusum(series), value: 7.5, mean: 10, sigma: 1, observed: 14)
        // 43 days: too short.
        #expect(Aberration.cusum(Array(series.dropFirst())) == nil)
    }
}
