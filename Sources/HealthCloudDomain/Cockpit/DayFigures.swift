/// What one scope (a campus, a district, the city) reported for one day: the counts of the
/// daily report summed over its campuses, and the stock of every catalog item.
///
/// Campus figures are the campus's own report; district and city figures are rollups kept
/// up to date on every ingest and correction, so no cockpit read adds up raw reports.
public struct DayFigures: Sendable, Hashable {
    /// `section.field` → value. Averages (`feverClinic.avgWaitMinutes`,
    /// `nucleicAcid.avgTurnaroundHours`) are weighted by their volume when combined.
    public var counts: [String: Int]
    /// Drugs and materials: catalog code → stock and consumption.
    public var stock: [CatalogKind: [String: StockTotal]]
    /// Campuses whose report is in these figures (1 for a campus).
    public var campusesReported: Int

    public init(counts: [String: Int] = [:], stock: [CatalogKind: [String: StockTotal]] = [:], campusesReported: Int = 1) {
        self.counts = counts
        self.stock = stock
        self.campusesReported = campusesReported
    }

    public init(report: DailyReport) {
        var stock: [CatalogKind: [String: StockTotal]] = [:]
        for kind in CatalogKind.allCases {
            for line in report.stock(kind) ?? [] {
                stock[kind, default: [:]][line.code, default: StockTotal()].add(stock: line.stock, consumed: line.consumed)
            }
        }
        self.init(counts: report.counts, stock: stock, campusesReported: 1)
    }

    public subscript(field: String) -> Int? { counts[field] }

    /// Averages and the volume that weighs them when figures are combined.
    public static let weightedAverages: [String: String] = [
        "feverClinic.avgWaitMinutes": "feverClinic.visits",
        "nucleicAcid.avgTurnaroundHours": "nucleicAcid.samplesTested",
    ]

    /// The figures of a larger scope: sums, and volume-weighted averages.
    public static func combine(_ parts: [DayFigures]) -> DayFigures {
        var result = DayFigures(campusesReported: 0)
        var weighted: [String: (sum: Double, weight: Double)] = [:]
        for part in parts {
            result.campusesReported += part.campusesReported
            for (field, value) in part.counts {
                if let weightField = weightedAverages[field] {
                    let weight = Double(part.counts[weightField] ?? 0)
                    weighted[field, default: (0, 0)].sum += Double(value) * weight
                    weighted[field, default: (0, 0)].weight += weight
                } else {
                    result.counts[field, default: 0] += value
                }
            }
            for (kind, items) in part.stock {
                for (code, total) in items {
                    result.stock[kind, default: [:]][code, default: StockTotal()].add(stock: total.stock, consumed: total.consumed)
                }
            }
        }
        for (field, total) in weighted {
            result.counts[field] = total.weight > 0 ? Int((total.sum / total.weight).rounded()) : 0
        }
        return result
    }
}

public struct StockTotal: Sendable, Hashable, Codable {
    public var stock: Int
    public var consumed: Int

    public init(stock: Int = 0, consumed: Int = 0) {
        self.stock = stock
        self.consumed = consumed
    }

    public mutating func add(stock: Int, consumed: Int) {
        self.stock += stock
        self.consumed += consumed
    }
}

/// Consecutive days of one scope's figures, oldest first, ending on the day being judged
/// (`nil` where the scope reported nothing). Metrics that look back (days of supply, a
/// baseline, an aberration detector) read the earlier days.
public struct FiguresWindow: Sendable {
    public let lastDay: Day
    public let days: [DayFigures?]

    public init(lastDay: Day, days: [DayFigures?]) {
        self.lastDay = lastDay
        self.days = days
    }

    /// Builds the window ending on `lastDay` with `length` days from a by-day map.
    public init(lastDay: Day, length: Int, from figures: [Day: DayFigures]) {
        self.lastDay = lastDay
        self.days = (0..<length).map { figures[lastDay - (length - 1 - $0)] }
    }

    public var today: DayFigures? { days.last ?? nil }

    /// The metric on the window's last day.
    public func value(of metric: Metric) -> Double? {
        days.isEmpty ? nil : metric.value(days, days.count - 1)
    }

    /// The series of one metric over the window, oldest first (nil where it cannot be computed).
    public func series(of metric: Metric) -> [Double?] {
        days.indices.map { metric.value(days, $0) }
    }
}
