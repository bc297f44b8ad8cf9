/// The fever pre-check a patient answers before going anywhere. Shaped after a FHIR R4
/// `Questionnaire` (items with a `linkId`, a type, options and `enableWhen` conditions) so that it
/// exports to one (``fhir``), while the answers stay a flat `linkId → value` map that a phone
/// can fill offline and the triage rules can read.
public struct Questionnaire: Sendable, Hashable, Codable {
    public var version: Int
    public var title: String
    public var items: [Item]

    public enum ItemType: String, Sendable, Hashable, Codable {
        case boolean, decimal, integer, string, choice
    }

    public struct Option: Sendable, Hashable, Codable {
        public var code: String
        public var display: String
    }

    /// A condition on an earlier answer that makes an item applicable.
    public struct EnableWhen: Sendable, Hashable, Codable {
        public var question: String
        /// `=`, `!=`, `>=`, `>`, `<=`, `<`.
        public var `operator`: String
        public var answer: JSONValue
    }

    public struct Item: Sendable, Hashable, Codable {
        public var linkId: String
        public var group: String
        public var text: String
        public var type: ItemType
        public var required: Bool
        public var repeats: Bool?
        public var options: [Option]?
        public var minValue: Double?
        public var maxValue: Double?
        public var maxLength: Int?
        public var unit: String?
        public var enableWhen: [EnableWhen]?
        /// `all` (default) or `any` of `enableWhen`.
        public var enableBehavior: String?
    }

    public func item(_ linkId: String) -> Item? { items.first { $0.linkId == linkId } }

    // MARK: Validation

    public struct Problem: Sendable, Hashable, Codable {
        public var linkId: String
        public var code: String
        public var message: String
    }

    /// Every problem with `answers` at once, in questionnaire order (unknown items last).
    public func problems(_ answers: [String: JSONValue]) -> [Problem] {
        var problems: [Problem] = []
        for item in items {
            let enabled = isEnabled(item, answers)
            guard let value = answers[item.linkId], value != .null else {
                if enabled && item.required {
                    problems.append(Problem(linkId: item.linkId, code: "required", message: "\(item.linkId) is required."))
                }
                continue
            }
            guard enabled else {
                problems.append(
                    Problem(
                        linkId: item.linkId,
                        code: "not_enabled",
                        message:
                            "\(item.linkId) does not apply to these answers (\(item.enableWhen?.map { "\($0.question) \($0.operator) \($0.answer.display)" }.joined(separator: item.enableBehavior == "any" ? " or " : " and ") ?? "")); leave it out."
                    )
                )
                continue
            }
            if let problem = check(item, value) { problems.append(problem) }
        }
        let known = Set(items.map(\.linkId))
        for linkId in answers.keys.sorted() where !known.contains(linkId) {
            problems.append(Problem(linkId: linkId, code: "unknown_item", message: "\(linkId) is not an item of questionnaire version \(version)."))
        }
        return problems
    }

    /// Whether an item applies, given the other answers. An item without conditions always does.
    public func isEnabled(_ item: Item, _ answers: [String: JSONValue]) -> Bool {
        guard let conditions = item.enableWhen, !conditions.isEmpty else { return true }
        let results = conditions.map { condition in
            guard let answer = answers[condition.question] else { return false }
            return Comparison(condition.operator)?.holds(answer, condition.answer) ?? false
        }
        return item.enableBehavior == "any" ? results.contains(true) : results.allSatisfy { $0 }
    }

    private func check(_ item: Item, _ value: JSONValue) -> Problem? {
        func problem(_ code: String, _ message: String) -> Problem { Problem(linkId: item.linkId, code: code, message: message) }
        switch item.type {
        case .boolean:
            guard case .bool = value else { return problem("wrong_type", "\(item.linkId) must be true or false.") }
        case .integer, .decimal:
            guard let number = value.numberValue, item.type == .decimal || value.isInteger else {
                return problem("wrong_type", "\(item.linkId) must be \(item.type == .integer ? "a whole number" : "a number").")
            }
            if let low = item.minValue, number < low {
                return problem("out_of_range", "\(item.linkId) must be at least \(low.shortText)\(item.unit.map { " \($0)" } ?? "").")
            }
            if let high = item.maxValue, number > high {
                return problem("out_of_range", "\(item.linkId) must be at most \(high.shortText)\(item.unit.map { " \($0)" } ?? "").")
            }
        case .string:
            guard case .string(let text) = value else { return problem("wrong_type", "\(item.linkId) must be a string.") }
            if let limit = item.maxLength, text.count > limit { return problem("too_long", "\(item.linkId) must have at most \(limit) characters.") }
        case .choice:
            let codes = Set((item.options ?? []).map(\.code))
            let allowed = (item.options ?? []).map(\.code).joined(separator: ", ")
            if item.repeats == true {
                guard case .array(let values) = value else {
                    return problem("wrong_type", "\(item.linkId) must be a list of option codes (\(allowed)).")
                }
                for element in values {
                    guard case .string(let code) = element else {
                        return problem("wrong_type", "\(item.linkId) must be a list of option codes (\(allowed)).")
                    }
                    guard codes.contains(code) else { return problem("unknown_option", "\(item.linkId): \(code) is not one of \(allowed).") }
                }
                if Set(values).count != values.count { return problem("wrong_type", "\(item.linkId) lists an option twice.") }
            } else {
                guard case .string(let code) = value else { return problem("wrong_type", "\(item.linkId) must be one option code (\(allowed)).") }
                guard codes.contains(code) else { return problem("unknown_option", "\(item.linkId): \(code) is not one of \(allowed).") }
            }
        }
        return nil
    }
}

/// A comparison between an answer and a constant, shared by `enableWhen` and the triage rules.
public enum Comparison: String, Sendable, CaseIterable {
    case equal = "="
    case notEqual = "!="
    case atLeast = ">="
    case above = ">"
    case atMost = "<="
    case below = "<"
    /// A repeating choice contains the code.
    case includes
    /// A repeating choice has at least one code.
    case nonEmpty

    public init?(_ text: String) { self.init(rawValue: text) }

    public func holds(_ answer: JSONValue, _ constant: JSONValue) -> Bool {
        switch self {
        case .equal: return answer.sameValue(as: constant)
        case .notEqual: return !answer.sameValue(as: constant)
        case .atLeast, .above, .atMost, .below:
            guard let a = answer.numberValue, let b = constant.numberValue else { return false }
            switch self {
            case .atLeast: return a >= b
            case .above: return a > b
            case .atMost: return a <= b
            default: return a < b
            }
        case .includes:
            guard case .array(let values) = answer else { return false }
            return values.contains(constant)
        case .nonEmpty:
            guard case .array(let values) = answer else { return false }
            return !values.isEmpty
        }
    }
}

extension JSONValue {
    /// Integers and numbers alike, as a Double.
    var numberValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// An integer, or a number without a fractional part (`37.0` from a scale is a whole number).
    var isInteger: Bool {
        switch self {
        case .integer: true
        case .number(let value): value.isFinite && value.rounded() == value
        default: false
        }
    }

    func sameValue(as other: JSONValue) -> Bool {
        if let a = numberValue, let b = other.numberValue { return a == b }
        return self == other
    }

    var display: String {
        switch self {
        case .null: "null"
        case .bool(let flag): String(flag)
        case .integer(let value): String(value)
        case .number(let value): value.shortText
        case .string(let text): text
        case .array(let values): "[" + values.map(\.display).joined(separator: ", ") + "]"
        case .object: "{…}"
        }
    }
}

extension Double {
    /// `37.3`, `43`, not `43.0`.
    var shortText: String {
        rounded() == self && abs(self) < 1e15 ? String(Int64(self)) : String(self)
    }
}
