/// Evaluates a submitted report against the rule table. Pure: the caller supplies the
/// campus's own recent history and the clock.
public enum QualityControl {
    public struct Input: Sendable {
        public var date: Day
        /// Today in Shanghai when the report arrived.
        public var today: Day
        public var submittedAt: Int64
        /// Timeliness is judged on the first version only; corrections are never "late".
        public var isFirstVersion: Bool
        /// The campus's accepted reports before `date` (at least the outlier window).
        public var history: [Day: DailyReport]

        public init(date: Day, today: Day, submittedAt: Int64, isFirstVersion: Bool, history: [Day: DailyReport]) {
            self.date = date
            self.today = today
            self.submittedAt = submittedAt
            self.isFirstVersion = isFirstVersion
            self.history = history
        }
    }

    public struct Outcome: Sendable {
        public var report: DailyReport
        public var findings: [Finding]

        public var errors: [Finding] { findings.filter { $0.severity == .error } }
        public var warnings: [Finding] { findings.filter { $0.severity == .warning } }
        public var accepted: Bool { errors.isEmpty }
        /// Late by the table's on-time rule (recorded for timeliness even if the rule is a warning).
        public var late: Bool
    }

    public static func evaluate(_ json: JSONValue, table: QualityRuleTable, catalog: [CatalogKind: Set<String>], input: Input) -> Outcome {
        let structural = table.rule { $0 == .wellFormed }
        let (report, parseFindings) = ReportParser.parse(json, catalog: catalog, ruleID: structural?.id ?? "well_formed")
        var findings = parseFindings.map { finding -> Finding in
            var finding = finding
            finding.severity = .error
            return finding
        }
        var late = false
        for rule in table.rules {
            switch rule.check {
            case .wellFormed:
                continue
            case .notInFuture:
                if input.date > input.today {
                    findings.append(
                        Finding(
                            rule: rule.id,
                            severity: rule.severity,
                            field: "date",
                            message: fill(rule.message, [:]) + " (\(input.date) is after today, \(input.today))"
                        )
                    )
                }
            case .notGreater(let field, let limit):
                if let a = report.counts[field], let b = report.counts[limit], a > b {
                    findings.append(
                        Finding(rule: rule.id, severity: rule.severity, field: field, message: fill(rule.message, ["a": "\(a)", "b": "\(b)"]))
                    )
                }
            case .sumNotGreater(let fields, let limit):
                let values = fields.compactMap { report.counts[$0] }
                if values.count == fields.count, let b = report.counts[limit], values.reduce(0, +) > b {
                    findings.append(
                        Finding(
                            rule: rule.id,
                            severity: rule.severity,
                            field: fields.first,
                            message: fill(rule.message, ["a": "\(values.reduce(0, +))", "b": "\(b)"])
                        )
                    )
                }
            case .sectionsPresent:
                for section in ReportSchema.sectionNames where !report.presentSections.contains(section) {
                    findings.append(
                        Finding(rule: rule.id, severity: rule.severity, field: section, message: fill(rule.message, ["section": section]))
                    )
                }
            case .onTime(let hour):
                let deadline = (input.date + 1).unixSeconds(atShanghaiHour: hour)
                if input.isFirstVersion, input.submittedAt > deadline {
                    late = true
                    findings.append(
                        Finding(
                            rule: rule.id,
                            severity: rule.severity,
                            field: nil,
                            message: fill(rule.message, ["deadline": "\(input.date + 1) \(hour):00"])
                        )
                    )
                }
            case .outlier(let threshold, let window, let minimum):
                for field in ReportSchema.countFields {
                    guard let value = report.counts[field] else { continue }
                    // Same day type only (weekday or weekend): outpatient clinics and surgery
                    // follow the week, and a Sunday is not an outlier for being a Sunday.
                    var series: [Double] = []
                    series.reserveCapacity(window)
                    var sameTypeDays = 0
                    for offset in 1...window where (input.date - offset).isWeekend == input.date.isWeekend {
                        sameTypeDays += 1
                        if let past = input.history[input.date - offset]?.counts[field] { series.append(Double(past)) }
                    }
                    let needed = max(3, minimum * sameTypeDays / window)
                    guard series.count >= needed,
                        let z = RobustStatistics.modifiedZScore(Double(value), in: series),
                        abs(z) > threshold, abs(Double(value) - RobustStatistics.median(series)) >= 5
                    else { continue }
                    findings.append(
                        Finding(
                            rule: rule.id,
                            severity: rule.severity,
                            field: field,
                            message: fill(
                                rule.message,
                                [
                                    "value": "\(field) = \(value)", "median": format(RobustStatistics.median(series)), "z": format(z),
                                ]
                            )
                        )
                    )
                }
            case .dayOverDayJump(let factor, let minimumBase):
                guard let yesterday = input.history[input.date - 1] else { continue }
                for field in ReportSchema.countFields {
                    guard let today = report.counts[field], let previous = yesterday.counts[field] else { continue }
                    let larger = max(today, previous)
                    let smaller = min(today, previous)
                    guard larger >= minimumBase, smaller == 0 || Double(larger) / Double(smaller) > factor else { continue }
                    let ratio = smaller == 0 ? "∞" : format(Double(today) / Double(previous))
                    findings.append(
                        Finding(
                            rule: rule.id,
                            severity: rule.severity,
                            field: field,
                            message: fill(
                                rule.message,
                                [
                                    "value": "\(field) = \(today)", "factor": ratio, "previous": "\(previous)",
                                ]
                            )
                        )
                    )
                }
            case .stockExplained(let tolerance, let slack):
                guard let yesterday = input.history[input.date - 1] else { continue }
                for (name, kind) in ReportSchema.stockSections {
                    guard let lines = report.stock(kind), let previousLines = yesterday.stock(kind) else { continue }
                    let previousByCode = Dictionary(previousLines.map { ($0.code, $0) }, uniquingKeysWith: { a, _ in a })
                    for (index, line) in lines.enumerated() {
                        guard let previous = previousByCode[line.code] else { continue }
                        let drop = previous.stock - line.stock
                        guard Double(drop) > Double(line.consumed) * (1 + tolerance) + Double(slack) else { continue }
                        findings.append(
                            Finding(
                                rule: rule.id,
                                severity: rule.severity,
                                field: "\(name)[\(index)].stock",
                                message: fill(
                                    rule.message,
                                    [
                                        "previous": "\(previous.stock)", "value": "\(line.stock)", "consumed": "\(line.consumed)",
                                    ]
                                ) + " (\(line.code))"
                            )
                        )
                    }
                }
            }
        }
        return Outcome(report: report, findings: findings, late: late)
    }

    static func fill(_ template: String, _ values: [String: String]) -> String {
        var text = template
        for (key, value) in values { text = text.replacing("{\(key)}", with: value) }
        return text
    }

    static func format(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }
}

/// Median-based statistics, robust to the outliers they are meant to find.
public enum RobustStatistics {
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }

    /// Iglewicz–Hoaglin modified z-score: 0.6745 (x − median) / MAD. When the MAD is zero
    /// (half the values identical) the mean absolute deviation stands in (scaled by 1.2533);
    /// nil when every value is the same.
    public static func modifiedZScore(_ x: Double, in values: [Double]) -> Double? {
        let m = median(values)
        let deviations = values.map { abs($0 - m) }
        let mad = median(deviations)
        if mad > 0 { return 0.6745 * (x - m) / mad }
        let meanAbsolute = deviations.reduce(0, +) / Double(deviations.count)
        guard meanAbsolute > 0 else { return x == m ? 0 : nil }
        return (x - m) / (1.253314 * meanAbsolute)
    }
}
