/// Aberration detection on a daily count series, as the CDC's Early Aberration Reporting
/// System (EARS; Hutwagner et al., 2003) defines it, plus a standardized CUSUM.
///
/// Every function takes the series oldest first, the judged day last, and returns nil when
/// the series is too short or the judged day is missing. Missing baseline days are left out
/// of the baseline (a baseline needs at least `minimumBaseline` of its days).
///
/// A flat baseline has a standard deviation of zero, which makes any rise infinitely
/// aberrant; the standard deviation is floored at `minimumSigma` (default 1 case), the usual
/// guard for small counts.
public enum Aberration {
    public struct Statistic: Sendable, Hashable, Codable {
        public var value: Double
        public var baselineMean: Double
        public var baselineSigma: Double
        public var observed: Double
    }

    public static let minimumBaseline = 5

    /// Mean and sample standard deviation (n − 1) of the present values.
    static func baseline(_ values: ArraySlice<Double?>, minimumSigma: Double) -> (mean: Double, sigma: Double)? {
        let present = values.compactMap { $0 }
        guard present.count >= minimumBaseline else { return nil }
        let mean = present.reduce(0, +) / Double(present.count)
        let variance = present.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(present.count - 1)
        return (mean, max(variance.squareRoot(), minimumSigma))
    }

    /// (x − mean) / sigma of the day at `index` against the `baselineDays` days that end
    /// `guardDays` days before it.
    static func standardized(_ series: [Double?], at index: Int, baselineDays: Int, guardDays: Int, minimumSigma: Double) -> Statistic? {
        let end = index - guardDays  // exclusive
        let start = end - baselineDays
        guard index < series.count, start >= 0, let observed = series[index],
            let (mean, sigma) = baseline(series[start..<end], minimumSigma: minimumSigma)
        else { return nil }
        return Statistic(value: (observed - mean) / sigma, baselineMean: mean, baselineSigma: sigma, observed: observed)
    }

    /// C1 (“mild”): the 7 days just before. Flags above 3 in EARS.
    public static func c1(_ series: [Double?], minimumSigma: Double = 1) -> Statistic? {
        standardized(series, at: series.count - 1, baselineDays: 7, guardDays: 0, minimumSigma: minimumSigma)
    }

    /// C2 (“medium”): 7 baseline days ending two days before (a 2-day guard band, so an
    /// outbreak's first days do not inflate its own baseline). Flags above 3 in EARS.
    public static func c2(_ series: [Double?], minimumSigma: Double = 1) -> Statistic? {
        c2(series, at: series.count - 1, minimumSigma: minimumSigma)
    }

    static func c2(_ series: [Double?], at index: Int, minimumSigma: Double) -> Statistic? {
        standardized(series, at: index, baselineDays: 7, guardDays: 2, minimumSigma: minimumSigma)
    }

    /// C3 (“ultra”): the sum of max(0, C2 − 1) over the judged day and the two before.
    /// Flags above 2 in EARS. Its baseline statistics are those of the judged day's C2.
    public static func c3(_ series: [Double?], minimumSigma: Double = 1) -> Statistic? {
        let last = series.count - 1
        guard let today = c2(series, at: last, minimumSigma: minimumSigma) else { return nil }
        var sum = 0.0
        for offset in 0..<3 {
            guard let statistic = c2(series, at: last - offset, minimumSigma: minimumSigma) else { return nil }
            sum += max(0, statistic.value - 1)
        }
        return Statistic(value: sum, baselineMean: today.baselineMean, baselineSigma: today.baselineSigma, observed: today.observed)
    }

    /// Standardized upper CUSUM: S₀ = 0 at the start of the last `runDays` days, then
    /// Sₜ = max(0, Sₜ₋₁ + zₜ − k), where zₜ compares each day with the `baselineDays` days ending
    /// `guardDays` before it. A day without a z (missing) carries S over unchanged.
    public static func cusum(
        _ series: [Double?],
        k: Double = 0.5,
        baselineDays: Int = 28,
        guardDays: Int = 2,
        runDays: Int = 14,
        minimumSigma: Double = 1
    ) -> Statistic? {
        let last = series.count - 1
        guard last - runDays + 1 - guardDays - baselineDays >= 0,
            let today = standardized(series, at: last, baselineDays: baselineDays, guardDays: guardDays, minimumSigma: minimumSigma)
        else { return nil }
        var sum = 0.0
        for index in (last - runDays + 1)...last {
            guard let z = standardized(series, at: index, baselineDays: baselineDays, guardDays: guardDays, minimumSigma: minimumSigma) else {
                continue
            }
            sum = max(0, sum + z.value - k)
        }
        return Statistic(value: sum, baselineMean: today.baselineMean, baselineSigma: today.baselineSigma, observed: today.observed)
    }
}
