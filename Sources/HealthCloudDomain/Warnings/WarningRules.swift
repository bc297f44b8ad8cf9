import Foundation

/// The four pressures of the tender.
public enum Pressure: String, Sendable, Hashable, Codable, CaseIterable {
    case clinical
    case epidemic
    case drugStock
    case materialStock
}

public enum WarningLevel: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case blue
    case yellow
    case orange
    case red

    var rank: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: WarningLevel, b: WarningLevel) -> Bool { a.rank < b.rank }
}

/// The level of the organisation hierarchy a warning is about.
public enum ScopeLevel: String, Sendable, Hashable, Codable, CaseIterable {
    case city
    case district
    case campus
}

/// How a rule judges its metric.
public enum WarningMethod: String, Sendable, Hashable, Codable, CaseIterable {
    /// The metric's value on the day against the thresholds.
    case threshold
    /// EARS C1, C2, C3 or the standardized CUSUM of the metric's daily series; the
    /// statistic is compared with the thresholds (see ``Aberration``).
    case earsC1 = "ears_c1"
    case earsC2 = "ears_c2"
    case earsC3 = "ears_c3"
    case cusum

    public var isDetector: Bool { self != .threshold }
}

/// One row of the admin-editable warning table: a metric, how it is judged, and the
/// threshold of each level.
public struct WarningRule: Sendable, Hashable, Codable {
    public enum Direction: String, Sendable, Hashable, Codable {
        /// Higher is worse (occupancy, waiting, positives).
        case above
        /// Lower is worse (days of supply, free beds).
        case below
    }

    /// Threshold per level; a level without one is not used by the rule.
    public struct Thresholds: Sendable, Hashable, Codable {
        public var blue: Double?
        public var yellow: Double?
        public var orange: Double?
        public var red: Double?

        public init(blue: Double? = nil, yellow: Double? = nil, orange: Double? = nil, red: Double? = nil) {
            self.blue = blue
            self.yellow = yellow
            self.orange = orange
            self.red = red
        }

        public subscript(level: WarningLevel) -> Double? {
            switch level {
            case .blue: blue
            case .yellow: yellow
            case .orange: orange
            case .red: red
            }
        }

        public var defined: [(level: WarningLevel, threshold: Double)] {
            WarningLevel.allCases.compactMap { level in self[level].map { (level, $0) } }
        }
    }

    public var id: String
    public var title: String
    public var pressure: Pressure
    public var metric: String
    public var method: WarningMethod
    public var direction: Direction
    public var thresholds: Thresholds
    public var scopes: [ScopeLevel]
    /// The metric itself must reach this before a detector fires (EARS on a handful of cases
    /// is noise).
    public var minimumValue: Double?

    public init(
        id: String,
        title: String,
        pressure: Pressure,
        metric: String,
        method: WarningMethod = .threshold,
        direction: Direction = .above,
        thresholds: Thresholds,
        scopes: [ScopeLevel],
        minimumValue: Double? = nil
    ) {
        self.id = id
        self.title = title
        self.pressure = pressure
        self.metric = metric
        self.method = method
        self.direction = direction
        self.thresholds = thresholds
        self.scopes = scopes
        self.minimumValue = minimumValue
    }

    /// The highest level whose threshold `value` reaches, if any.
    public func level(for value: Double) -> (level: WarningLevel, threshold: Double)? {
        thresholds.defined.reversed().first { direction == .above ? value >= $0.threshold : value <= $0.threshold }
    }
}

public struct WarningRuleTable: Sendable, Hashable, Codable {
    public var version: Int
    /// An open or acknowledged warning resolves by itself after its condition has been clear
    /// for this many evaluated days in a row.
    public var autoResolveAfterDays: Int
    public var rules: [WarningRule]

    public init(version: Int, autoResolveAfterDays: Int, rules: [WarningRule]) {
        self.version = version
        self.autoResolveAfterDays = autoResolveAfterDays
        self.rules = rules
    }

    static let detectorThresholds: [WarningMethod: WarningRule.Thresholds] = [
        .earsC1: .init(blue: 3, yellow: 5, orange: 8, red: 12),
        .earsC2: .init(blue: 3, yellow: 5, orange: 8, red: 12),
        .earsC3: .init(blue: 2, yellow: 6, orange: 12, red: 24),
        .cusum: .init(blue: 8, yellow: 15, orange: 30, red: 60),
    ]

    static func detectors(_ metric: String, _ name: String, minimum: Double) -> [WarningRule] {
        [(WarningMethod.earsC1, "C1"), (.earsC2, "C2"), (.earsC3, "C3"), (.cusum, "CUSUM")].map { method, label in
            WarningRule(
                id: "\(method.rawValue)_\(name)",
                title: "\(Metrics.named(metric)?.label ?? metric)异常升高（EARS \(label)）",
                pressure: .epidemic,
                metric: metric,
                method: method,
                thresholds: detectorThresholds[method]!,
                scopes: [.city, .district],
                minimumValue: minimum
            )
        }.map { rule in
            var rule = rule
            if rule.method == .cusum { rule.title = "\(Metrics.named(metric)?.label ?? metric)持续升高（CUSUM）" }
            return rule
        }
    }

    public static let standard = WarningRuleTable(
        version: 1,
        autoResolveAfterDays: 3,
        rules: [
            WarningRule(
                id: "icu_occupancy",
                title: "ICU 床位使用率高",
                pressure: .clinical,
                metric: "icu.occupancyRate",
                thresholds: .init(blue: 80, yellow: 85, orange: 90, red: 95),
                scopes: [.city, .district, .campus]
            ),
            WarningRule(
                id: "fever_wait_time",
                title: "发热门诊候诊时间长",
                pressure: .clinical,
                metric: "feverClinic.avgWaitMinutes",
                thresholds: .init(blue: 30, yellow: 60, orange: 90, red: 120),
                scopes: [.city, .district, .campus]
            ),
            WarningRule(
                id: "fever_waiting_patients",
                title: "发热门诊候诊人数多",
                pressure: .clinical,
                metric: "feverClinic.waitingPatients",
                thresholds: .init(blue: 30, yellow: 50, orange: 80, red: 120),
                scopes: [.campus]
            ),
            WarningRule(
                id: "isolation_rooms",
                title: "留观室使用率高",
                pressure: .clinical,
                metric: "feverClinic.isolationOccupancyRate",
                thresholds: .init(blue: 80, yellow: 90, orange: 95, red: 100),
                scopes: [.city, .district, .campus]
            ),
            WarningRule(
                id: "emergency_load",
                title: "急诊负荷高于自身基线",
                pressure: .clinical,
                metric: "medicalService.emergencyLoadIndex",
                thresholds: .init(blue: 130, yellow: 150, orange: 180, red: 220),
                scopes: [.city, .district, .campus]
            ),
            WarningRule(
                id: "fever_positive_rate",
                title: "发热门诊阳性率高",
                pressure: .epidemic,
                metric: "feverClinic.positiveRate",
                thresholds: .init(blue: 5, yellow: 10, orange: 20, red: 30),
                scopes: [.city, .district]
            ),
            WarningRule(
                id: "nucleic_positive_rate",
                title: "核酸阳性率高",
                pressure: .epidemic,
                metric: "nucleicAcid.positiveRate",
                thresholds: .init(blue: 0.1, yellow: 0.5, orange: 1, red: 2),
                scopes: [.city, .district]
            ),
        ] + detectors("feverClinic.visits", "fever_visits", minimum: 20)
            + detectors("feverClinic.positives", "fever_positives", minimum: 5)
            + [
                WarningRule(
                    id: "drug_days_of_supply",
                    title: "药品储备不足",
                    pressure: .drugStock,
                    metric: "drugs.minDaysOfSupply",
                    direction: .below,
                    thresholds: .init(blue: 7, yellow: 5, orange: 3, red: 1),
                    scopes: [.city, .district, .campus]
                ),
                WarningRule(
                    id: "material_days_of_supply",
                    title: "物资储备不足",
                    pressure: .materialStock,
                    metric: "materials.minDaysOfSupply",
                    direction: .below,
                    thresholds: .init(blue: 7, yellow: 5, orange: 3, red: 1),
                    scopes: [.city, .district, .campus]
                ),
            ]
    )

    /// What is wrong with an edited table (empty when it may be saved), by JSON path.
    public func problems() -> [(path: String, message: String)] {
        var problems: [(String, String)] = []
        if !(1...60).contains(autoResolveAfterDays) { problems.append(("autoResolveAfterDays", "must be 1–60")) }
        if rules.count > 200 { problems.append(("rules", "at most 200 rules")) }
        var seen = Set<String>()
        for (index, rule) in rules.enumerated() {
            let path = "rules[\(index)]"
            if rule.id.isEmpty || rule.id.count > 64 || !rule.id.allSatisfy({ ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" }) {
                problems.append(("\(path).id", "must be 1–64 ASCII letters, digits or underscores"))
            }
            if !seen.insert(rule.id).inserted { problems.append(("\(path).id", "\(rule.id) appears twice")) }
            if rule.title.trimmingCharacters(in: .whitespaces).isEmpty || rule.title.count > 100 {
                problems.append(("\(path).title", "must be 1–100 characters"))
            }
            if Metrics.named(rule.metric) == nil { problems.append(("\(path).metric", "\(rule.metric) is not a known metric")) }
            if rule.scopes.isEmpty { problems.append(("\(path).scopes", "must name at least one of city, district, campus")) }
            if Set(rule.scopes).count != rule.scopes.count { problems.append(("\(path).scopes", "lists a level twice")) }
            if rule.method.isDetector && rule.direction != .above {
                problems.append(("\(path).direction", "detectors flag rises: direction must be above"))
            }
            let defined = rule.thresholds.defined
            if defined.isEmpty { problems.append(("\(path).thresholds", "must set at least one of blue, yellow, orange, red")) }
            for (level, value) in defined where !value.isFinite || abs(value) > 1e9 {
                problems.append(("\(path).thresholds.\(level.rawValue)", "must be a finite number"))
            }
            // Each higher level must be strictly worse than the one below it.
            for (lower, higher) in zip(defined, defined.dropFirst()) {
                let ordered = rule.direction == .above ? higher.threshold > lower.threshold : higher.threshold < lower.threshold
                if !ordered {
                    problems.append(
                        (
                            "\(path).thresholds.\(higher.level.rawValue)",
                            "must be \(rule.direction == .above ? "above" : "below") the \(lower.level.rawValue) threshold"
                        )
                    )
                }
            }
            if let minimum = rule.minimumValue, !minimum.isFinite || minimum < 0 {
                problems.append(("\(path).minimumValue", "must be a non-negative number"))
            }
        }
        return problems
    }
}
