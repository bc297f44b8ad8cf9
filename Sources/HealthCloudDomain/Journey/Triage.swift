/// Where a patient should go, from least to most urgent.
public enum TriageLevel: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case homeCare = "home_care"
    case sentinel
    case feverClinic = "fever_clinic"
    case emergency

    public static func < (a: TriageLevel, b: TriageLevel) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }

    /// The kinds of site a patient of this level may book, in order of preference: a sentinel
    /// sees mild fever close to home, a fever clinic everything a sentinel must refer.
    public var bookableSites: [SiteKind] {
        switch self {
        case .homeCare, .emergency: []
        case .sentinel: [.feverSentinel, .feverClinic]
        case .feverClinic: [.feverClinic]
        }
    }
}

/// A test on the answers: `{"all": [...]}`, `{"any": [...]}` or `{"item", "op", "value"}`.
/// An item that was not answered (or does not apply) fails every test on it.
public indirect enum TriageCondition: Sendable, Hashable, Codable {
    case all([TriageCondition])
    case any([TriageCondition])
    case test(item: String, op: String, value: JSONValue)

    enum CodingKeys: String, CodingKey { case all, any, item, op, value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let all = try container.decodeIfPresent([TriageCondition].self, forKey: .all) {
            self = .all(all)
            return
        }
        if let any = try container.decodeIfPresent([TriageCondition].self, forKey: .any) {
            self = .any(any)
            return
        }
        self = .test(
            item: try container.decode(String.self, forKey: .item),
            op: try container.decode(String.self, forKey: .op),
            value: try container.decodeIfPresent(JSONValue.self, forKey: .value) ?? .null
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .all(let conditions): try container.encode(conditions, forKey: .all)
        case .any(let conditions): try container.encode(conditions, forKey: .any)
        case .test(let item, let op, let value):
            try container.encode(item, forKey: .item)
            try container.encode(op, forKey: .op)
            if value != .null { try container.encode(value, forKey: .value) }
        }
    }

    public func holds(_ answers: [String: JSONValue]) -> Bool {
        switch self {
        case .all(let conditions): conditions.allSatisfy { $0.holds(answers) }
        case .any(let conditions): conditions.contains { $0.holds(answers) }
        case .test(let item, let op, let value):
            answers[item].map { Comparison(op)?.holds($0, value) ?? false } ?? false
        }
    }

    /// The items the condition reads, for validating a table against a questionnaire.
    var items: [String] {
        switch self {
        case .all(let conditions), .any(let conditions): conditions.flatMap(\.items)
        case .test(let item, _, _): [item]
        }
    }

    var operators: [String] {
        switch self {
        case .all(let conditions), .any(let conditions): conditions.flatMap(\.operators)
        case .test(_, let op, _): [op]
        }
    }
}

public struct TriageRule: Sendable, Hashable, Codable {
    public var id: String
    public var level: TriageLevel
    /// Why, in words the patient reads.
    public var reason: String
    public var when: TriageCondition

    public init(id: String, level: TriageLevel, reason: String, when: TriageCondition) {
        self.id = id
        self.level = level
        self.reason = reason
        self.when = when
    }
}

/// The triage rules as data: every rule whose condition holds gives a reason, the highest level
/// among them is the answer (home care when none holds). Versioned: a pre-check records the
/// version that judged it.
public struct TriageRuleTable: Sendable, Hashable, Codable {
    public var version: Int
    public var rules: [TriageRule]
    /// Advice per level (keyed by the level's raw value).
    public var advice: [String: String]

    public init(version: Int, rules: [TriageRule], advice: [String: String]) {
        self.version = version
        self.rules = rules
        self.advice = advice
    }

    public struct Reason: Sendable, Hashable, Codable {
        public var rule: String
        public var text: String
    }

    public struct Outcome: Sendable, Hashable {
        public var level: TriageLevel
        public var reasons: [Reason]
        public var advice: String
        /// The rules that fired (ids): those of the level first, then the rest, each in table order.
        public var fired: [String] { reasons.map(\.rule) }
    }

    public func triage(_ answers: [String: JSONValue]) -> Outcome {
        let fired = rules.filter { $0.when.holds(answers) }
        let level = fired.map(\.level).max() ?? .homeCare
        var reasons =
            fired.filter { $0.level == level }.map { Reason(rule: $0.id, text: $0.reason) }
            + fired.filter { $0.level != level }.map { Reason(rule: $0.id, text: $0.reason) }
        if reasons.isEmpty { reasons = [Reason(rule: "none", text: "没有需要就诊的症状或风险 No symptom or risk that needs a visit.")] }
        return Outcome(level: level, reasons: reasons, advice: advice[level.rawValue] ?? "")
    }

    /// What is wrong with a table for `questionnaire` (empty when it can be used).
    public func problems(for questionnaire: Questionnaire) -> [String] {
        var problems: [String] = []
        var seen: Set<String> = []
        for (index, rule) in rules.enumerated() {
            if !seen.insert(rule.id).inserted { problems.append("rules[\(index)].id: \(rule.id) appears twice") }
            for item in rule.when.items where questionnaire.item(item) == nil {
                problems.append("rules[\(index)].when: \(item) is not an item of questionnaire version \(questionnaire.version)")
            }
            for op in rule.when.operators where Comparison(op) == nil {
                problems.append("rules[\(index)].when: \(op) is not an operator")
            }
        }
        for level in TriageLevel.allCases where advice[level.rawValue] == nil {
            problems.append("advice.\(level.rawValue) is missing")
        }
        return problems
    }
}

extension TriageRuleTable {
    /// The standard table, after the national fever-clinic pre-check and triage guidance:
    /// danger signs go to 120; fever with breathing trouble, exposure, a risk group, a high or
    /// long fever to a fever clinic; other fevers and exposed respiratory symptoms to a sentinel.
    public static let standard: TriageRuleTable = {
        typealias C = TriageCondition
        func test(_ item: String, _ op: String, _ value: JSONValue = .null) -> C { .test(item: item, op: op, value: value) }
        let fever = test("temperature", ">=", .number(37.3))
        let exposure = C.any([
            test("contactWithCase", "=", .bool(true)), test("riskAreaStay", "=", .bool(true)), test("cluster", "!=", .string("none")),
        ])
        let riskGroup = C.any([
            test("age", ">=", .integer(65)), test("age", "<", .integer(6)), test("pregnant", "=", .bool(true)),
            test("chronicDiseases", "nonEmpty"), test("immunosuppressed", "=", .bool(true)),
        ])
        let respiratory = C.any([test("cough", "=", .bool(true)), test("soreThroat", "=", .bool(true)), test("lossOfSmellTaste", "=", .bool(true))])
        return TriageRuleTable(
            version: 1,
            rules: [
                TriageRule(
                    id: "danger-signs",
                    level: .emergency,
                    reason: "出现危险征象 Danger signs (chest pain, confusion, blue lips, unable to drink, seizure).",
                    when: test("dangerSigns", "nonEmpty")
                ),
                TriageRule(
                    id: "low-oxygen",
                    level: .emergency,
                    reason: "血氧低于93% Oxygen saturation below 93 %.",
                    when: test("spo2", "<", .integer(93))
                ),
                TriageRule(
                    id: "hyperpyrexia",
                    level: .emergency,
                    reason: "体温41°C及以上 Temperature of 41 °C or more.",
                    when: test("temperature", ">=", .integer(41))
                ),
                TriageRule(id: "dyspnoea", level: .feverClinic, reason: "呼吸困难 Shortness of breath.", when: test("dyspnoea", "=", .bool(true))),
                TriageRule(
                    id: "fever-exposure",
                    level: .feverClinic,
                    reason: "发热且有流行病学史 Fever after contact with a case, a risk area or a cluster.",
                    when: .all([fever, exposure])
                ),
                TriageRule(
                    id: "fever-risk-group",
                    level: .feverClinic,
                    reason: "发热且属高危人群 Fever in a risk group (65 or older, under 6, pregnant, chronic disease, immunosuppressed).",
                    when: .all([fever, riskGroup])
                ),
                TriageRule(
                    id: "high-fever",
                    level: .feverClinic,
                    reason: "体温38.5°C及以上 Temperature of 38.5 °C or more.",
                    when: test("temperature", ">=", .number(38.5))
                ),
                TriageRule(
                    id: "long-fever",
                    level: .feverClinic,
                    reason: "发热3天及以上 Fever for 3 days or more.",
                    when: test("feverDays", ">=", .integer(3))
                ),
                TriageRule(id: "fever", level: .sentinel, reason: "发热 Fever (37.3 °C or more).", when: fever),
                TriageRule(
                    id: "respiratory-exposure",
                    level: .sentinel,
                    reason: "呼吸道症状且有流行病学史 Respiratory symptoms after an exposure.",
                    when: .all([respiratory, exposure])
                ),
                TriageRule(
                    id: "child-without-guardian",
                    level: .sentinel,
                    reason: "6岁以下儿童需监护人陪同 A child under 6 must come with a guardian.",
                    when: test("guardianPresent", "=", .bool(false))
                ),
            ],
            advice: [
                TriageLevel.homeCare.rawValue:
                    "居家观察：多饮水、休息，每日测体温；出现发热或呼吸困难请重新预检。Stay home, drink, rest and take your temperature daily; answer the pre-check again if fever or breathing trouble starts.",
                TriageLevel.sentinel.rawValue:
                    "请预约就近社区发热哨点就诊，全程佩戴口罩，避免乘坐公共交通。Book the nearest community fever sentinel; wear a mask and avoid public transport.",
                TriageLevel.feverClinic.rawValue:
                    "请预约发热门诊，凭二维码无接触签到，全程佩戴口罩。Book a fever clinic and check in contactless with your QR pass; wear a mask.",
                TriageLevel.emergency.rawValue: "请立即拨打120，不要自行前往医院。Call 120 now; do not travel to hospital on your own.",
            ]
        )
    }()
}
