/// A rule that holds on the judged day, with what made it hold.
public struct WarningFiring: Sendable, Hashable, Codable {
    public var ruleId: String
    public var pressure: Pressure
    public var level: WarningLevel
    public var metric: String
    public var method: WarningMethod
    /// What was compared with the threshold: the metric, or the detector's statistic.
    public var value: Double
    public var threshold: Double
    /// Detectors: the statistic's baseline (mean, sigma) and the day's observed count.
    public var statistic: Aberration.Statistic?
}

public enum WarningStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case open
    case acknowledged
    case resolved
}

/// An unresolved warning of one scope, as the lifecycle needs it.
public struct ActiveWarning: Sendable, Hashable {
    public var id: Int
    public var ruleId: String
    public var level: WarningLevel
    public var status: WarningStatus
    /// Evaluated days in a row on which the condition did not hold.
    public var clearDays: Int

    public init(id: Int, ruleId: String, level: WarningLevel, status: WarningStatus, clearDays: Int) {
        self.id = id
        self.ruleId = ruleId
        self.level = level
        self.status = status
        self.clearDays = clearDays
    }
}

/// What one day's evaluation does to a scope's warnings.
public enum WarningChange: Sendable, Hashable {
    /// A condition with no unresolved warning: a new warning, to deliver to the scope's leaders.
    case open(WarningFiring)
    /// The condition persists: the open warning is updated, not duplicated. `escalated`: its
    /// level rose — it is open again (needs a new acknowledgement) and is delivered again.
    case update(id: Int, WarningFiring, escalated: Bool)
    /// The condition did not hold today.
    case clear(id: Int, clearDays: Int)
    /// Clear for long enough: resolved automatically.
    case resolve(id: Int)
}

public enum WarningEngine {
    /// Days of figures an evaluation reads: the longest look-back is the CUSUM's
    /// (14 run days + 2 guard days + 28 baseline days).
    public static let windowDays = 45

    /// The rules of `table` that hold for a scope of `level` on the window's last day.
    public static func evaluate(_ table: WarningRuleTable, level: ScopeLevel, window: FiguresWindow) -> [WarningFiring] {
        guard window.today != nil else { return [] }
        var firings: [WarningFiring] = []
        var seriesCache: [String: [Double?]] = [:]
        for rule in table.rules where rule.scopes.contains(level) {
            guard let metric = Metrics.named(rule.metric), let observed = window.value(of: metric) else { continue }
            let compared: Double
            var statistic: Aberration.Statistic?
            if rule.method.isDetector {
                if let minimum = rule.minimumValue, observed < minimum { continue }
                let series = seriesCache[metric.id] ?? window.series(of: metric)
                seriesCache[metric.id] = series
                switch rule.method {
                case .earsC1: statistic = Aberration.c1(series)
                case .earsC2: statistic = Aberration.c2(series)
                case .earsC3: statistic = Aberration.c3(series)
                case .cusum: statistic = Aberration.cusum(series)
                case .threshold: statistic = nil
                }
                guard let statistic else { continue }
                compared = statistic.value
            } else {
                compared = observed
            }
            guard let (warningLevel, threshold) = rule.level(for: compared) else { continue }
            firings.append(
                WarningFiring(
                    ruleId: rule.id,
                    pressure: rule.pressure,
                    level: warningLevel,
                    metric: rule.metric,
                    method: rule.method,
                    value: Metric.round(compared, 2),
                    threshold: threshold,
                    statistic: statistic
                )
            )
        }
        return firings
    }

    /// The lifecycle step of one evaluated day: persisting conditions update their warning,
    /// new ones open, and warnings whose condition is gone count clear days until they resolve.
    public static func changes(active: [ActiveWarning], firings: [WarningFiring], autoResolveAfterDays: Int) -> [WarningChange] {
        var changes: [WarningChange] = []
        let byRule = Dictionary(active.filter { $0.status != .resolved }.map { ($0.ruleId, $0) }, uniquingKeysWith: { first, _ in first })
        let firing = Set(firings.map(\.ruleId))
        for fired in firings {
            if let warning = byRule[fired.ruleId] {
                changes.append(.update(id: warning.id, fired, escalated: fired.level > warning.level))
            } else {
                changes.append(.open(fired))
            }
        }
        for warning in byRule.values.sorted(by: { $0.id < $1.id }) where !firing.contains(warning.ruleId) {
            let clearDays = warning.clearDays + 1
            changes.append(clearDays >= autoResolveAfterDays ? .resolve(id: warning.id) : .clear(id: warning.id, clearDays: clearDays))
        }
        return changes
    }
}
