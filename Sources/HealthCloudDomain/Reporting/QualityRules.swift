/// One finding of quality control: which rule, how bad, which field, and what to fix.
public struct Finding: Sendable, Hashable, Codable {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    public var rule: String
    public var severity: Severity
    public var field: String?
    public var message: String

    public init(rule: String, severity: Severity, field: String?, message: String) {
        self.rule = rule
        self.severity = severity
        self.field = field
        self.message = message
    }
}

/// The rule table: quality control is data, evaluated by one engine (``QualityControl``),
/// not code per rule. Administrators edit thresholds and severities; the server validates
/// the table on save (``QualityRuleTable/problems()``).
public struct QualityRule: Sendable, Hashable, Codable {
    public var id: String
    public var severity: Finding.Severity
    public var check: Check
    /// A short explanation shown to reporters; `{a}`, `{b}`, `{value}`, … are filled in.
    public var message: String

    public init(id: String, severity: Finding.Severity, check: Check, message: String) {
        self.id = id
        self.severity = severity
        self.check = check
        self.message = message
    }

    public enum Check: Sendable, Hashable, Codable {
        /// Structural: every value a non-negative integer; no unknown section, field or catalog
        /// code; no duplicate codes; the date not in the future. Always errors.
        case wellFormed
        case notInFuture
        /// `field` ≤ `limit` (both `section.field`).
        case notGreater(field: String, limit: String)
        /// Σ `fields` ≤ `limit`.
        case sumNotGreater(fields: [String], limit: String)
        /// Each count section and stock list is present.
        case sectionsPresent
        /// The first version arrives by `hour`:00 Shanghai time on the next day.
        case onTime(hour: Int)
        /// Modified z-score (median and MAD of the campus's own last `windowDays` days of the
        /// same day type — weekday or weekend) above `threshold`, for every count field with
        /// enough history (`minimumHistory` in proportion to the same-type days of the window).
        case outlier(threshold: Double, windowDays: Int, minimumHistory: Int)
        /// Today over yesterday (or yesterday over today) beyond `factor`, when the larger is at least `minimumBase`.
        case dayOverDayJump(factor: Double, minimumBase: Int)
        /// Stock fell by more than yesterday's stock minus today's consumption explains
        /// (beyond `tolerance` × consumed + `slack`).
        case stockExplained(tolerance: Double, slack: Int)
    }
}

public struct QualityRuleTable: Sendable, Hashable, Codable {
    public var version: Int
    public var rules: [QualityRule]
    /// Days after the report day from which a correction needs a district reporter's approval.
    public var lockAfterDays: Int

    public init(version: Int, rules: [QualityRule], lockAfterDays: Int) {
        self.version = version
        self.rules = rules
        self.lockAfterDays = lockAfterDays
    }

    public static let standard = QualityRuleTable(
        version: 1,
        rules: [
            QualityRule(id: "well_formed", severity: .error, check: .wellFormed, message: "The report must follow the published structure."),
            QualityRule(id: "date_not_in_future", severity: .error, check: .notInFuture, message: "A report cannot be for a day that has not begun."),
            QualityRule(
                id: "icu_beds_occupied_within_total",
                severity: .error,
                check: .notGreater(field: "icu.bedsOccupied", limit: "icu.bedsTotal"),
                message: "Occupied ICU beds ({a}) exceed ICU beds ({b})."
            ),
            QualityRule(
                id: "isolation_rooms_occupied_within_total",
                severity: .error,
                check: .notGreater(field: "feverClinic.isolationRoomsOccupied", limit: "feverClinic.isolationRoomsTotal"),
                message: "Occupied isolation rooms ({a}) exceed isolation rooms ({b})."
            ),
            QualityRule(
                id: "ventilators_in_use_within_total",
                severity: .error,
                check: .notGreater(field: "icu.ventilatorsInUse", limit: "icu.ventilatorsTotal"),
                message: "Ventilators in use ({a}) exceed ventilators ({b})."
            ),
            QualityRule(
                id: "nucleic_acid_positives_within_tested",
                severity: .error,
                check: .notGreater(field: "nucleicAcid.positives", limit: "nucleicAcid.samplesTested"),
                message: "Positive samples ({a}) exceed samples tested ({b})."
            ),
            QualityRule(
                id: "doses_60_plus_within_doses",
                severity: .error,
                check: .notGreater(field: "vaccination.dosesAge60Plus", limit: "vaccination.doses"),
                message: "Doses for people 60 and over ({a}) exceed all doses ({b})."
            ),
            QualityRule(
                id: "first_and_booster_within_doses",
                severity: .error,
                check: .sumNotGreater(fields: ["vaccination.firstDoses", "vaccination.boosterDoses"], limit: "vaccination.doses"),
                message: "First doses plus booster doses ({a}) exceed all doses ({b})."
            ),
            QualityRule(
                id: "fever_positives_within_visits",
                severity: .warning,
                check: .notGreater(field: "feverClinic.positives", limit: "feverClinic.visits"),
                message: "Fever-clinic positives ({a}) exceed fever-clinic visits ({b}): check whether positives from other departments were counted."
            ),
            QualityRule(id: "section_missing", severity: .warning, check: .sectionsPresent, message: "The {section} section is missing."),
            QualityRule(
                id: "late",
                severity: .warning,
                check: .onTime(hour: 10),
                message: "Submitted after the deadline ({deadline} Shanghai time)."
            ),
            QualityRule(
                id: "outlier",
                severity: .warning,
                check: .outlier(threshold: 3.5, windowDays: 28, minimumHistory: 14),
                message: "{value} is far from this campus's last 28 days of the same day type (median {median}, modified z-score {z})."
            ),
            QualityRule(
                id: "day_over_day_jump",
                severity: .warning,
                check: .dayOverDayJump(factor: 3, minimumBase: 20),
                message: "{value} is {factor}× yesterday's {previous}."
            ),
            QualityRule(
                id: "stock_unexplained_drop",
                severity: .warning,
                check: .stockExplained(tolerance: 0.1, slack: 5),
                message: "Stock fell from {previous} to {value} but only {consumed} were consumed."
            ),
        ],
        lockAfterDays: 3
    )

    /// What is wrong with an edited table (empty when it may be saved).
    public func problems() -> [(path: String, message: String)] {
        var problems: [(String, String)] = []
        let fields = Set(ReportSchema.countFields)
        var seen = Set<String>()
        if !(0...365).contains(lockAfterDays) { problems.append(("lockAfterDays", "must be between 0 and 365")) }
        for (index, rule) in rules.enumerated() {
            let path = "rules[\(index)]"
            if rule.id.isEmpty || rule.id.count > 64 || !rule.id.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                problems.append(("\(path).id", "must be 1–64 letters, digits or underscores"))
            }
            if !seen.insert(rule.id).inserted { problems.append(("\(path).id", "\(rule.id) appears twice")) }
            if rule.message.isEmpty { problems.append(("\(path).message", "must not be empty")) }
            switch rule.check {
            case .wellFormed, .notInFuture:
                if rule.severity != .error { problems.append(("\(path).severity", "structural rules are always errors")) }
            case .notGreater(let field, let limit):
                for (name, value) in [("field", field), ("limit", limit)] where !fields.contains(value) {
                    problems.append(("\(path).check.\(name)", "\(value) is not a report field"))
                }
            case .sumNotGreater(let summands, let limit):
                if summands.isEmpty { problems.append(("\(path).check.fields", "must name at least one field")) }
                for (index, value) in summands.enumerated() where !fields.contains(value) {
                    problems.append(("\(path).check.fields[\(index)]", "\(value) is not a report field"))
                }
                if !fields.contains(limit) { problems.append(("\(path).check.limit", "\(limit) is not a report field")) }
            case .sectionsPresent:
                break
            case .onTime(let hour):
                if !(0...23).contains(hour) { problems.append(("\(path).check.hour", "must be 0–23")) }
            case .outlier(let threshold, let window, let minimum):
                if !(threshold > 0 && threshold <= 100) { problems.append(("\(path).check.threshold", "must be in (0, 100]")) }
                if !(7...90).contains(window) { problems.append(("\(path).check.windowDays", "must be 7–90")) }
                // Never build a range from untrusted bounds: 3...2 would trap.
                if minimum < 3 || minimum > window { problems.append(("\(path).check.minimumHistory", "must be 3–windowDays")) }
            case .dayOverDayJump(let factor, let base):
                if !(factor > 1 && factor <= 1000) { problems.append(("\(path).check.factor", "must be in (1, 1000]")) }
                if base < 0 { problems.append(("\(path).check.minimumBase", "must be ≥ 0")) }
            case .stockExplained(let tolerance, let slack):
                if !(0...10).contains(tolerance) { problems.append(("\(path).check.tolerance", "must be 0–10")) }
                if slack < 0 { problems.append(("\(path).check.slack", "must be ≥ 0")) }
            }
        }
        if !rules.contains(where: { $0.check == .wellFormed }) { problems.append(("rules", "the well_formed rule cannot be removed")) }
        return problems
    }

    func rule(_ check: (QualityRule.Check) -> Bool) -> QualityRule? {
        rules.first { check($0.check) }
    }
}
