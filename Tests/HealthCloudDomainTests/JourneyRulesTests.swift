import Foundation
import Testing

@testable import HealthCloudDomain

/// The patient journey's pure rules (docs/patient-journey.md): questionnaire validation, the
/// triage rule table, the FHIR export, site schedules, distances, grading routes and the visit
/// pass claims.

/// Answers and helpers shared by the journey suites.
enum JourneyFixtures {
    typealias Answers = [String: JSONValue]

    static let questionnaire = PreCheck.current
    static let table = TriageRuleTable.standard

    /// A complete, valid answer set of a healthy 30-year-old: no rule fires.
    static let healthy: Answers = [
        "temperature": .number(36.5),
        "cough": .bool(false),
        "soreThroat": .bool(false),
        "dyspnoea": .bool(false),
        "lossOfSmellTaste": .bool(false),
        "contactWithCase": .bool(false),
        "riskAreaStay": .bool(false),
        "cluster": .string("none"),
        "age": .integer(30),
        "pregnant": .bool(false),
        "immunosuppressed": .bool(false),
    ]

    /// `healthy` with `changes` applied (a `.null` change removes the answer).
    static func answers(_ changes: Answers = [:]) -> Answers {
        var answers = healthy
        for (linkId, value) in changes {
            if value == .null { answers[linkId] = nil } else { answers[linkId] = value }
        }
        return answers
    }

    /// The problems of `healthy` with `changes`, as `linkId:code`.
    static func problems(_ changes: Answers) -> [String] {
        questionnaire.problems(answers(changes)).map { "\($0.linkId):\($0.code)" }
    }

    static func triage(_ changes: Answers) -> TriageRuleTable.Outcome { table.triage(answers(changes)) }
}

// MARK: - Questionnaire validation

@Suite struct JourneyQuestionnaireValidationTests {
    typealias F = JourneyFixtures

    @Test func aCompleteValidAnswerSetHasNoProblems() {
        #expect(F.questionnaire.problems(F.healthy).isEmpty)
        // Every optional and conditional item answered as well.
        let full = F.answers([
            "temperature": .number(38.2), "feverDays": .integer(2), "cough": .bool(true),
            "otherSymptoms": .array([.string("fatigue"), .string("headache")]),
            "dangerSigns": .array([]), "spo2": .integer(97),
            "contactWithCase": .bool(true), "contactDaysAgo": .integer(4),
            "riskAreaStay": .bool(true), "riskAreaName": .string("浦东新区 Pudong"),
            "cluster": .string("household"), "age": .integer(40), "pregnant": .bool(false),
            "chronicDiseases": .array([.string("diabetes"), .string("copd")]),
        ])
        let problems = F.questionnaire.problems(full)
        #expect(problems.isEmpty, "\(problems)")
        // A child with a guardian (pregnant does not apply below 12).
        #expect(F.problems(["age": .integer(4), "pregnant": .null, "guardianPresent": .bool(true)]).isEmpty)
    }

    @Test func theCurrentQuestionnaireIsVersionOneAndAcceptedByVersion() {
        #expect(F.questionnaire.version == 1)
        #expect(PreCheck.questionnaires[1] == F.questionnaire)
        #expect(
            F.questionnaire.items.map(\.linkId) == [
                "temperature", "feverDays", "cough", "soreThroat", "dyspnoea", "lossOfSmellTaste", "otherSymptoms",
                "dangerSigns", "spo2", "contactWithCase", "contactDaysAgo", "riskAreaStay", "riskAreaName", "cluster",
                "age", "pregnant", "chronicDiseases", "immunosuppressed", "guardianPresent",
            ]
        )
    }

    @Test func required() {
        for linkId in [
            "temperature", "cough", "soreThroat", "dyspnoea", "lossOfSmellTaste", "contactWithCase",
            "riskAreaStay", "cluster", "age", "immunosuppressed",
        ] {
            // Without an age, pregnant does not apply either.
            let changes: JourneyFixtures.Answers = linkId == "age" ? [linkId: .null, "pregnant": .null] : [linkId: .null]
            #expect(F.problems(changes) == ["\(linkId):required"], "\(linkId)")
        }
        // An explicit null is no answer.
        var answers = F.healthy
        answers["cough"] = .null
        #expect(F.questionnaire.problems(answers).map(\.code) == ["required"])
        // Optional items may be left out.
        for linkId in ["otherSymptoms", "dangerSigns", "spo2", "chronicDiseases"] {
            #expect(F.questionnaire.item(linkId)?.required == false, "\(linkId)")
        }
        let problem = F.questionnaire.problems(F.answers(["age": .null])).first
        #expect(problem?.message.contains("age") == true)
    }

    @Test func unknownItem() {
        let problems = F.questionnaire.problems(F.answers(["weight": .integer(70)]))
        #expect(problems.map(\.linkId) == ["weight"])
        #expect(problems.map(\.code) == ["unknown_item"])
        #expect(problems.first?.message.contains("version 1") == true)
    }

    @Test func wrongTypeOfEveryItemType() {
        // boolean: 1 is not true.
        #expect(F.problems(["cough": .integer(1)]) == ["cough:wrong_type"])
        #expect(F.problems(["cough": .string("true")]) == ["cough:wrong_type"])
        // decimal: a string is not a number.
        #expect(F.problems(["temperature": .string("38.5")]) == ["temperature:wrong_type"])
        #expect(F.problems(["temperature": .bool(true)]) == ["temperature:wrong_type"])
        // integer: a string, a boolean, a fraction.
        #expect(F.problems(["age": .string("30"), "pregnant": .null]) == ["age:wrong_type"])
        #expect(F.problems(["age": .bool(true), "pregnant": .null]) == ["age:wrong_type"])
        #expect(F.problems(["spo2": .string("95")]) == ["spo2:wrong_type"])
        // string
        #expect(F.problems(["riskAreaStay": .bool(true), "riskAreaName": .integer(5)]) == ["riskAreaName:wrong_type"])
        // single choice: one code as a string, not a list or a number.
        #expect(F.problems(["cluster": .array([.string("work")])]) == ["cluster:wrong_type"])
        #expect(F.problems(["cluster": .integer(1)]) == ["cluster:wrong_type"])
        // repeating choice: a list of codes, each at most once.
        #expect(F.problems(["otherSymptoms": .string("fatigue")]) == ["otherSymptoms:wrong_type"])
        #expect(F.problems(["otherSymptoms": .array([.integer(1)])]) == ["otherSymptoms:wrong_type"])
        #expect(F.problems(["otherSymptoms": .array([.string("fatigue"), .string("fatigue")])]) == ["otherSymptoms:wrong_type"])
        let message = F.questionnaire.problems(F.answers(["age": .string("30"), "pregnant": .null])).first?.message
        #expect(message?.contains("whole number") == true)
    }

    @Test func aWholeDecimalIsAnInteger() {
        #expect(F.problems(["age": .number(37.0)]).isEmpty)
        #expect(F.problems(["age": .number(37.5)]) == ["age:wrong_type"])
        #expect(F.problems(["temperature": .number(38.0), "feverDays": .number(2.0)]).isEmpty)
        #expect(F.problems(["temperature": .number(38.0), "feverDays": .number(2.5)]) == ["feverDays:wrong_type"])
        // A decimal item takes an integer too.
        #expect(F.problems(["temperature": .integer(36)]).isEmpty)
    }

    @Test func outOfRange() {
        #expect(F.problems(["temperature": .number(33.9)]) == ["temperature:out_of_range"])
        #expect(F.problems(["temperature": .number(43.1), "feverDays": .integer(1)]) == ["temperature:out_of_range"])
        #expect(F.problems(["temperature": .integer(34)]).isEmpty)
        #expect(F.problems(["temperature": .integer(43), "feverDays": .integer(0)]).isEmpty)
        #expect(F.problems(["age": .integer(-1), "pregnant": .null, "guardianPresent": .bool(true)]) == ["age:out_of_range"])
        #expect(F.problems(["age": .integer(121), "pregnant": .null]) == ["age:out_of_range"])
        #expect(F.problems(["age": .integer(120), "pregnant": .null]).isEmpty)
        #expect(F.problems(["spo2": .integer(49)]) == ["spo2:out_of_range"])
        #expect(F.problems(["spo2": .integer(101)]) == ["spo2:out_of_range"])
        #expect(F.problems(["temperature": .number(38), "feverDays": .integer(61)]) == ["feverDays:out_of_range"])
        #expect(F.problems(["contactWithCase": .bool(true), "contactDaysAgo": .integer(22)]) == ["contactDaysAgo:out_of_range"])
        let low = F.questionnaire.problems(F.answers(["temperature": .number(33.9)])).first?.message
        #expect(low?.contains("at least 34 °C") == true, "\(low ?? "")")
        let high = F.questionnaire.problems(F.answers(["age": .integer(121), "pregnant": .null])).first?.message
        #expect(high?.contains("at most 120 years") == true, "\(high ?? "")")
    }

    @Test func unknownOption() {
        #expect(F.problems(["cluster": .string("hospital")]) == ["cluster:unknown_option"])
        #expect(F.problems(["otherSymptoms": .array([.string("fatigue"), .string("sneezing")])]) == ["otherSymptoms:unknown_option"])
        #expect(F.problems(["dangerSigns": .array([.string("fainting")])]) == ["dangerSigns:unknown_option"])
        #expect(F.problems(["chronicDiseases": .array([.string("asthma")])]) == ["chronicDiseases:unknown_option"])
        let message = F.questionnaire.problems(F.answers(["cluster": .string("hospital")])).first?.message
        #expect(message?.contains("careHome") == true)
    }

    @Test func notEnabled() {
        #expect(F.problems(["feverDays": .integer(1)]) == ["feverDays:not_enabled"])  // temperature 36.5
        #expect(F.problems(["contactDaysAgo": .integer(1)]) == ["contactDaysAgo:not_enabled"])
        #expect(F.problems(["riskAreaName": .string("Pudong")]) == ["riskAreaName:not_enabled"])
        #expect(F.problems(["age": .integer(60), "pregnant": .bool(false)]) == ["pregnant:not_enabled"])
        #expect(F.problems(["guardianPresent": .bool(true)]) == ["guardianPresent:not_enabled"])
        let message = F.questionnaire.problems(F.answers(["feverDays": .integer(1)])).first?.message
        #expect(message?.contains("temperature >= 37.3") == true, "\(message ?? "")")
    }

    @Test func tooLong() {
        #expect(
            F.problems(["riskAreaStay": .bool(true), "riskAreaName": .string(String(repeating: "区", count: 101))])
                == ["riskAreaName:too_long"]
        )
        #expect(F.problems(["riskAreaStay": .bool(true), "riskAreaName": .string(String(repeating: "区", count: 100))]).isEmpty)
        // riskAreaName stays optional when it applies.
        #expect(F.problems(["riskAreaStay": .bool(true)]).isEmpty)
    }

    /// A condition on a missing or unusable answer does not hold, so an answer to the item it
    /// guards is reported as well (the phone sees both problems at once).
    @Test func aConditionOnABadAnswerDoesNotHold() {
        #expect(F.problems(["age": .null]) == ["age:required", "pregnant:not_enabled"])
        #expect(F.problems(["age": .string("30")]) == ["age:wrong_type", "pregnant:not_enabled"])
        #expect(F.problems(["temperature": .string("38"), "feverDays": .integer(2)]) == ["temperature:wrong_type", "feverDays:not_enabled"])
        // An out-of-range answer still enables (43.5 ≥ 37.3).
        #expect(F.problems(["temperature": .number(43.5)]) == ["temperature:out_of_range", "feverDays:required"])
    }

    @Test func feverDaysOnlyWithFever() {
        #expect(F.problems(["temperature": .number(37.2)]).isEmpty)
        #expect(F.problems(["temperature": .number(37.3)]) == ["feverDays:required"])
        #expect(F.problems(["temperature": .number(37.3), "feverDays": .integer(0)]).isEmpty)
        #expect(F.problems(["temperature": .number(37.2), "feverDays": .integer(0)]) == ["feverDays:not_enabled"])
    }

    @Test(arguments: [(11, false), (12, true), (55, true), (56, false)])
    func pregnantOnlyFrom12To55(age: Int, applies: Bool) {
        let without = F.problems(["age": .integer(Int64(age)), "pregnant": .null])
        let with = F.problems(["age": .integer(Int64(age)), "pregnant": .bool(false)])
        if applies {
            #expect(without == ["pregnant:required"])
            #expect(with.isEmpty)
        } else {
            #expect(without.isEmpty)
            #expect(with == ["pregnant:not_enabled"])
        }
    }

    @Test func guardianOnlyUnder6() {
        #expect(F.problems(["age": .integer(5), "pregnant": .null]) == ["guardianPresent:required"])
        #expect(F.problems(["age": .integer(0), "pregnant": .null]) == ["guardianPresent:required"])
        #expect(F.problems(["age": .integer(5), "pregnant": .null, "guardianPresent": .bool(false)]).isEmpty)
        #expect(F.problems(["age": .integer(6), "pregnant": .null]).isEmpty)
        #expect(F.problems(["age": .integer(6), "pregnant": .null, "guardianPresent": .bool(true)]) == ["guardianPresent:not_enabled"])
    }

    @Test func contactDaysAgoOnlyAfterContact() {
        #expect(F.problems(["contactWithCase": .bool(true)]) == ["contactDaysAgo:required"])
        #expect(F.problems(["contactWithCase": .bool(true), "contactDaysAgo": .integer(0)]).isEmpty)
        #expect(F.problems(["contactWithCase": .bool(false), "contactDaysAgo": .integer(3)]) == ["contactDaysAgo:not_enabled"])
        // Only a boolean true enables it.
        #expect(
            F.problems(["contactWithCase": .integer(1), "contactDaysAgo": .integer(3)])
                == ["contactWithCase:wrong_type", "contactDaysAgo:not_enabled"]
        )
    }

    @Test func everyProblemAtOnceInQuestionnaireOrderUnknownItemsLast() {
        let answers = F.answers([
            "zzz": .bool(true),
            "age": .integer(200),
            "temperature": .string("hot"),
            "cough": .null,
            "cluster": .string("party"),
            "aaa": .integer(1),
            "guardianPresent": .bool(true),
            "otherSymptoms": .string("fatigue"),
        ])
        let problems = F.questionnaire.problems(answers)
        #expect(
            problems.map { "\($0.linkId):\($0.code)" } == [
                "temperature:wrong_type", "cough:required", "otherSymptoms:wrong_type", "cluster:unknown_option",
                "age:out_of_range", "pregnant:not_enabled", "guardianPresent:not_enabled", "aaa:unknown_item", "zzz:unknown_item",
            ]
        )
    }
}

// MARK: - Triage

/// One answer set per rule of the standard table, starting from the healthy baseline.
struct JourneyRuleCase: Sendable, CustomTestStringConvertible {
    var rule: String
    var level: TriageLevel
    var changes: JourneyFixtures.Answers
    /// Every rule the answers make fire, in table order (the rule under test among them).
    var fired: [String]

    var testDescription: String { rule }

    static let all: [JourneyRuleCase] = [
        .init(rule: "danger-signs", level: .emergency, changes: ["dangerSigns": .array([.string("chestPain")])], fired: ["danger-signs"]),
        .init(rule: "low-oxygen", level: .emergency, changes: ["spo2": .integer(92)], fired: ["low-oxygen"]),
        // A temperature of 41 is also a high fever and a fever.
        .init(
            rule: "hyperpyrexia",
            level: .emergency,
            changes: ["temperature": .number(41), "feverDays": .integer(1)],
            fired: ["hyperpyrexia", "high-fever", "fever"]
        ),
        .init(rule: "dyspnoea", level: .feverClinic, changes: ["dyspnoea": .bool(true)], fired: ["dyspnoea"]),
        .init(
            rule: "fever-exposure",
            level: .feverClinic,
            changes: ["temperature": .number(37.6), "feverDays": .integer(1), "contactWithCase": .bool(true), "contactDaysAgo": .integer(3)],
            fired: ["fever-exposure", "fever"]
        ),
        .init(
            rule: "fever-risk-group",
            level: .feverClinic,
            changes: ["temperature": .number(37.6), "feverDays": .integer(1), "age": .integer(70), "pregnant": .null],
            fired: ["fever-risk-group", "fever"]
        ),
        .init(
            rule: "high-fever",
            level: .feverClinic,
            changes: ["temperature": .number(38.5), "feverDays": .integer(1)],
            fired: ["high-fever", "fever"]
        ),
        .init(
            rule: "long-fever",
            level: .feverClinic,
            changes: ["temperature": .number(37.6), "feverDays": .integer(3)],
            fired: ["long-fever", "fever"]
        ),
        .init(rule: "fever", level: .sentinel, changes: ["temperature": .number(37.6), "feverDays": .integer(1)], fired: ["fever"]),
        .init(
            rule: "respiratory-exposure",
            level: .sentinel,
            changes: ["cough": .bool(true), "contactWithCase": .bool(true), "contactDaysAgo": .integer(2)],
            fired: ["respiratory-exposure"]
        ),
        .init(
            rule: "child-without-guardian",
            level: .sentinel,
            changes: ["age": .integer(4), "pregnant": .null, "guardianPresent": .bool(false)],
            fired: ["child-without-guardian"]
        ),
    ]
}

@Suite struct JourneyTriageTests {
    typealias F = JourneyFixtures

    @Test(arguments: JourneyRuleCase.all)
    func eachRuleFires(_ rule: JourneyRuleCase) throws {
        let answers = F.answers(rule.changes)
        let problems = F.questionnaire.problems(answers)
        #expect(problems.isEmpty, "\(rule.rule): the answers must be valid: \(problems)")
        let standard = try #require(F.table.rules.first { $0.id == rule.rule })
        #expect(standard.level == rule.level)
        let outcome = F.table.triage(answers)
        #expect(outcome.level == rule.level)
        #expect(outcome.fired.contains(rule.rule))
        #expect(outcome.fired == rule.fired)
        #expect(outcome.reasons.first { $0.rule == rule.rule }?.text == standard.reason)
        #expect(outcome.advice == F.table.advice[rule.level.rawValue])
    }

    @Test func everyRuleOfTheStandardTableHasItsCase() {
        let tested = JourneyRuleCase.all.map(\.rule)
        #expect(Set(tested).count == tested.count, "a rule is tested twice")
        #expect(Set(tested) == Set(F.table.rules.map(\.id)))
        #expect(tested.count == F.table.rules.count)
    }

    @Test func healthyIsHomeCare() {
        let outcome = F.table.triage(F.healthy)
        #expect(outcome.level == .homeCare)
        #expect(outcome.fired == ["none"])
        #expect(outcome.reasons.count == 1)
        #expect(outcome.reasons.first?.text.isEmpty == false)
        #expect(outcome.advice == F.table.advice["home_care"])
        #expect(outcome.advice.isEmpty == false)
    }

    @Test func theHighestLevelWinsAndItsReasonsComeFirst() {
        let outcome = F.triage([
            "temperature": .number(38.6), "feverDays": .integer(1), "cough": .bool(true),
            "contactWithCase": .bool(true), "contactDaysAgo": .integer(1), "dangerSigns": .array([.string("confusion")]),
        ])
        #expect(outcome.level == .emergency)
        #expect(outcome.fired == ["danger-signs", "fever-exposure", "high-fever", "fever", "respiratory-exposure"])
        #expect(outcome.advice == F.table.advice["emergency"])

        // Without danger signs the fever-clinic reasons lead.
        let clinic = F.triage([
            "temperature": .number(38.6), "feverDays": .integer(4), "cough": .bool(true),
            "contactWithCase": .bool(true), "contactDaysAgo": .integer(1),
        ])
        #expect(clinic.level == .feverClinic)
        #expect(clinic.fired == ["fever-exposure", "high-fever", "long-fever", "fever", "respiratory-exposure"])
    }

    @Test func theHighestLevelReasonsComeFirstWhateverTheTableOrder() {
        let table = TriageRuleTable(
            version: 9,
            rules: [
                TriageRule(id: "low", level: .sentinel, reason: "low", when: .test(item: "cough", op: "=", value: .bool(true))),
                TriageRule(id: "high", level: .emergency, reason: "high", when: .test(item: "dyspnoea", op: "=", value: .bool(true))),
                TriageRule(id: "mid", level: .feverClinic, reason: "mid", when: .test(item: "soreThroat", op: "=", value: .bool(true))),
                TriageRule(id: "high2", level: .emergency, reason: "high2", when: .test(item: "lossOfSmellTaste", op: "=", value: .bool(true))),
            ],
            advice: F.table.advice
        )
        let outcome = table.triage(
            F.answers(["cough": .bool(true), "dyspnoea": .bool(true), "soreThroat": .bool(true), "lossOfSmellTaste": .bool(true)])
        )
        #expect(outcome.level == .emergency)
        #expect(outcome.fired == ["high", "high2", "low", "mid"])
        #expect(outcome.reasons.map(\.text) == ["high", "high2", "low", "mid"])
    }

    @Test(arguments: [
        // (changes, level)
        (["temperature": .number(37.2)] as JourneyFixtures.Answers, TriageLevel.homeCare),
        (["temperature": .number(37.3), "feverDays": .integer(0)], .sentinel),
        (["temperature": .number(38.4), "feverDays": .integer(0)], .sentinel),
        (["temperature": .number(38.5), "feverDays": .integer(0)], .feverClinic),
        (["temperature": .number(40.9), "feverDays": .integer(0)], .feverClinic),
        (["temperature": .number(41.0), "feverDays": .integer(0)], .emergency),
        (["spo2": .integer(93)], .homeCare),
        (["spo2": .integer(92)], .emergency),
        (["temperature": .number(37.5), "feverDays": .integer(1), "age": .integer(64), "pregnant": .null], .sentinel),
        (["temperature": .number(37.5), "feverDays": .integer(1), "age": .integer(65), "pregnant": .null], .feverClinic),
        (["temperature": .number(37.5), "feverDays": .integer(1), "age": .integer(6), "pregnant": .null], .sentinel),
        (
            ["temperature": .number(37.5), "feverDays": .integer(1), "age": .integer(5), "pregnant": .null, "guardianPresent": .bool(true)],
            .feverClinic
        ),
        (["temperature": .number(37.5), "feverDays": .integer(2)], .sentinel),
        (["temperature": .number(37.5), "feverDays": .integer(3)], .feverClinic),
        // A risk group or an exposure without fever is no reason to go.
        (["age": .integer(80), "pregnant": .null, "chronicDiseases": .array([.string("copd")])], .homeCare),
        (["contactWithCase": .bool(true), "contactDaysAgo": .integer(2)], .homeCare),
        (["cluster": .string("school")], .homeCare),
        (["cough": .bool(true)], .homeCare),
        (["cough": .bool(true), "cluster": .string("school")], .sentinel),
        (["soreThroat": .bool(true), "riskAreaStay": .bool(true)], .sentinel),
        (["lossOfSmellTaste": .bool(true), "contactWithCase": .bool(true), "contactDaysAgo": .integer(9)], .sentinel),
        // Each risk group with fever.
        (["temperature": .number(37.5), "feverDays": .integer(1), "pregnant": .bool(true)], .feverClinic),
        (["temperature": .number(37.5), "feverDays": .integer(1), "chronicDiseases": .array([.string("diabetes")])], .feverClinic),
        (["temperature": .number(37.5), "feverDays": .integer(1), "chronicDiseases": .array([])], .sentinel),
        (["temperature": .number(37.5), "feverDays": .integer(1), "immunosuppressed": .bool(true)], .feverClinic),
        (["temperature": .number(37.5), "feverDays": .integer(1), "riskAreaStay": .bool(true)], .feverClinic),
        (["temperature": .number(37.5), "feverDays": .integer(1), "cluster": .string("careHome")], .feverClinic),
    ])
    func boundaries(_ changes: JourneyFixtures.Answers, _ level: TriageLevel) {
        let answers = F.answers(changes)
        #expect(F.questionnaire.problems(answers).isEmpty, "\(F.questionnaire.problems(answers))")
        let outcome = F.table.triage(answers)
        #expect(outcome.level == level, "\(outcome.fired)")
    }

    @Test func theStandardTableHasNoProblems() {
        #expect(F.table.problems(for: F.questionnaire).isEmpty, "\(F.table.problems(for: F.questionnaire))")
        #expect(F.table.version == 1)
        for level in TriageLevel.allCases {
            #expect(F.table.advice[level.rawValue]?.isEmpty == false, "\(level)")
        }
    }

    @Test func aBrokenTableReportsEachProblem() {
        func table(_ rules: [TriageRule], dropping level: TriageLevel? = nil) -> TriageRuleTable {
            var advice = F.table.advice
            if let level { advice[level.rawValue] = nil }
            return TriageRuleTable(version: 2, rules: rules, advice: advice)
        }
        let fine = TriageRule(id: "fine", level: .sentinel, reason: "ok", when: .test(item: "cough", op: "=", value: .bool(true)))

        var unknownItem = fine
        unknownItem.id = "unknown-item"
        unknownItem.when = .all([.test(item: "cough", op: "=", value: .bool(true)), .any([.test(item: "bloodType", op: "=", value: .string("A"))])])
        #expect(table([fine, unknownItem]).problems(for: F.questionnaire) == ["rules[1].when: bloodType is not an item of questionnaire version 1"])

        var unknownOperator = fine
        unknownOperator.id = "unknown-operator"
        unknownOperator.when = .test(item: "temperature", op: "~=", value: .number(38))
        #expect(table([unknownOperator]).problems(for: F.questionnaire) == ["rules[0].when: ~= is not an operator"])

        #expect(table([fine], dropping: .emergency).problems(for: F.questionnaire) == ["advice.emergency is missing"])
        #expect(table([fine], dropping: .homeCare).problems(for: F.questionnaire) == ["advice.home_care is missing"])

        #expect(table([fine, fine]).problems(for: F.questionnaire) == ["rules[1].id: fine appears twice"])

        // All of them at once.
        let all = table([fine, unknownItem, unknownOperator, fine], dropping: .sentinel).problems(for: F.questionnaire)
        #expect(all.count == 4, "\(all)")
    }

    @Test func theStandardTableRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(F.table)
        let decoded = try JSONDecoder().decode(TriageRuleTable.self, from: data)
        #expect(decoded.rules.map(\.id) == F.table.rules.map(\.id))
        #expect(decoded.advice == F.table.advice)
        // A whole-number constant must be written `.integer`: `.number(41)` would come back as
        // `.integer(41)` and the decoded table would differ (found here, fixed in the table).
        #expect(decoded == F.table)
        // Every other rule survives unchanged.
        for (original, read) in zip(F.table.rules, decoded.rules) where original.id != "hyperpyrexia" {
            #expect(read == original, "\(original.id)")
        }
        #expect(decoded.rules.first { $0.id == "hyperpyrexia" }?.when == .test(item: "temperature", op: ">=", value: .integer(41)))
        // Whatever the JSON does to numbers, the decoded table judges alike.
        for rule in JourneyRuleCase.all {
            #expect(decoded.triage(F.answers(rule.changes)).fired == rule.fired, "\(rule.rule)")
        }
    }

    @Test func conditionsDecodeFromTheirDocumentedShape() throws {
        let json = #"{"all": [{"item": "temperature", "op": ">=", "value": 37.3}, {"any": [{"item": "chronicDiseases", "op": "nonEmpty"}]}]}"#
        let condition = try JSONDecoder().decode(TriageCondition.self, from: Data(json.utf8))
        #expect(
            condition
                == .all([
                    .test(item: "temperature", op: ">=", value: .number(37.3)),
                    .any([.test(item: "chronicDiseases", op: "nonEmpty", value: .null)]),
                ])
        )
        // nonEmpty carries no value.
        let encoded = try JSONEncoder().encode(TriageCondition.test(item: "chronicDiseases", op: "nonEmpty", value: .null))
        #expect(String(decoding: encoded, as: UTF8.self).contains("value") == false)
    }

    @Test func anUnansweredItemFailsEveryTest() {
        let condition = TriageCondition.test(item: "spo2", op: "!=", value: .integer(100))
        #expect(condition.holds(F.healthy) == false)
        #expect(condition.holds(F.answers(["spo2": .integer(99)])))
    }

    @Test func bookableSitesPerLevel() {
        #expect(TriageLevel.homeCare.bookableSites == [])
        #expect(TriageLevel.sentinel.bookableSites == [.feverSentinel, .feverClinic])
        #expect(TriageLevel.feverClinic.bookableSites == [.feverClinic])
        #expect(TriageLevel.emergency.bookableSites == [])
        #expect(TriageLevel.allCases.sorted() == [.homeCare, .sentinel, .feverClinic, .emergency])
        #expect(TriageLevel.allCases.map(\.rawValue) == ["home_care", "sentinel", "fever_clinic", "emergency"])
    }
}

// MARK: - FHIR export

@Suite struct JourneyFHIRExportTests {
    typealias F = JourneyFixtures

    static func list(_ value: JSONValue?) -> [JSONValue] {
        if case .array(let values)? = value { return values }
        return []
    }

    static func field(_ value: JSONValue?, _ key: String) -> JSONValue? { value?.objectValue?[key] }

    static var fhir: JSONValue { F.questionnaire.fhir }

    /// Every question of the export, by linkId.
    static var questions: [String: JSONValue] {
        var questions: [String: JSONValue] = [:]
        for group in list(field(fhir, "item")) {
            for item in list(field(group, "item")) {
                if case .string(let linkId)? = field(item, "linkId") { questions[linkId] = item }
            }
        }
        return questions
    }

    @Test func resourceHeader() {
        #expect(Self.field(Self.fhir, "resourceType") == .string("Questionnaire"))
        #expect(Self.field(Self.fhir, "status") == .string("active"))
        #expect(Self.field(Self.fhir, "version") == .string("1"))
        #expect(Self.field(Self.fhir, "title") == .string(F.questionnaire.title))
        #expect(Self.field(Self.fhir, "subjectType") == .array([.string("Patient")]))
    }

    @Test func everyItemOnceUnderAGroup() throws {
        let groups = Self.list(Self.field(Self.fhir, "item"))
        #expect(groups.map { Self.field($0, "linkId") } == [.string("symptoms"), .string("epidemiology"), .string("risk")])
        var linkIds: [String] = []
        for group in groups {
            #expect(Self.field(group, "type") == .string("group"))
            let groupId = try #require(Self.field(group, "linkId"))
            for item in Self.list(Self.field(group, "item")) {
                guard case .string(let linkId)? = Self.field(item, "linkId") else {
                    Issue.record("an item without linkId: \(item)")
                    continue
                }
                linkIds.append(linkId)
                let source = try #require(F.questionnaire.item(linkId))
                #expect(groupId == .string(source.group), "\(linkId)")
                #expect(Self.field(item, "type") == .string(source.type.rawValue), "\(linkId)")
                #expect(Self.field(item, "required") == .bool(source.required), "\(linkId)")
                #expect(Self.field(item, "text") == .string(source.text), "\(linkId)")
            }
        }
        #expect(linkIds == F.questionnaire.items.map(\.linkId))
        #expect(Set(linkIds).count == linkIds.count)
    }

    @Test func choiceItemsHaveAnswerOptions() throws {
        for item in F.questionnaire.items where item.type == .choice {
            let exported = try #require(Self.questions[item.linkId])
            let codes = Self.list(Self.field(exported, "answerOption")).map { Self.field(Self.field($0, "valueCoding"), "code") }
            #expect(codes == (item.options ?? []).map { .string($0.code) }, "\(item.linkId)")
            #expect(!codes.isEmpty)
            let first = Self.field(Self.list(Self.field(exported, "answerOption")).first, "valueCoding")
            #expect(Self.field(first, "system") == .string("urn:healthcloud:precheck:\(item.linkId)"))
            #expect(Self.field(first, "display") == .string(item.options?.first?.display ?? ""))
            #expect(Self.field(exported, "repeats") == (item.repeats == true ? .bool(true) : nil), "\(item.linkId)")
        }
        #expect(Self.field(Self.questions["cough"], "answerOption") == nil)
    }

    @Test func enableWhenHasTypedAnswers() throws {
        let feverDays = Self.list(Self.field(Self.questions["feverDays"], "enableWhen"))
        #expect(feverDays == [.object(["question": .string("temperature"), "operator": .string(">="), "answerDecimal": .number(37.3)])])
        #expect(Self.field(Self.questions["feverDays"], "enableBehavior") == nil)

        let contact = Self.list(Self.field(Self.questions["contactDaysAgo"], "enableWhen"))
        #expect(contact == [.object(["question": .string("contactWithCase"), "operator": .string("="), "answerBoolean": .bool(true)])])

        let riskArea = Self.list(Self.field(Self.questions["riskAreaName"], "enableWhen"))
        #expect(riskArea == [.object(["question": .string("riskAreaStay"), "operator": .string("="), "answerBoolean": .bool(true)])])

        let pregnant = try #require(Self.questions["pregnant"])
        #expect(
            Self.list(Self.field(pregnant, "enableWhen")) == [
                .object(["question": .string("age"), "operator": .string(">="), "answerInteger": .integer(12)]),
                .object(["question": .string("age"), "operator": .string("<="), "answerInteger": .integer(55)]),
            ]
        )
        #expect(Self.field(pregnant, "enableBehavior") == .string("all"))

        let guardian = Self.list(Self.field(Self.questions["guardianPresent"], "enableWhen"))
        #expect(guardian == [.object(["question": .string("age"), "operator": .string("<"), "answerInteger": .integer(6)])])

        // Items without conditions carry none.
        #expect(Self.field(Self.questions["temperature"], "enableWhen") == nil)
    }

    @Test func rangesUnitsAndLengths() {
        let temperature = Self.list(Self.field(Self.questions["temperature"], "extension"))
        #expect(temperature.contains(.object(["url": .string("http://hl7.org/fhir/StructureDefinition/minValue"), "valueDecimal": .number(34)])))
        #expect(temperature.contains(.object(["url": .string("http://hl7.org/fhir/StructureDefinition/maxValue"), "valueDecimal": .number(43)])))
        let age = Self.list(Self.field(Self.questions["age"], "extension"))
        #expect(age.contains(.object(["url": .string("http://hl7.org/fhir/StructureDefinition/minValue"), "valueInteger": .integer(0)])))
        #expect(age.contains(.object(["url": .string("http://hl7.org/fhir/StructureDefinition/maxValue"), "valueInteger": .integer(120)])))
        #expect(Self.field(Self.questions["riskAreaName"], "maxLength") == .integer(100))
        #expect(Self.field(Self.questions["cough"], "extension") == nil)
    }

    @Test func theQuestionnaireRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(F.questionnaire)
        #expect(try JSONDecoder().decode(Questionnaire.self, from: data) == F.questionnaire)
    }

    @Test func theExportEncodesAsJSON() throws {
        let data = try JSONEncoder().encode(Self.fhir)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["resourceType"] as? String == "Questionnaire")
    }
}

// MARK: - Site schedules and distances

@Suite struct JourneySiteScheduleTests {
    static let day = Day("2026-11-29")!

    @Test func feverClinicsRunAroundTheClock() throws {
        let windows = SiteSchedule.standard(for: .feverClinic).windows(on: Self.day)
        let midnight = Self.day.unixSeconds(atShanghaiHour: 0)
        #expect(windows.count == 24)
        for (index, window) in windows.enumerated() {
            #expect(window.startsAt == midnight + Int64(index) * 3600)
            #expect(window.endsAt - window.startsAt == 3600)
            #expect(window.capacity == 20)
        }
        let first = try #require(windows.first)
        let last = try #require(windows.last)
        #expect(first.startsAt == midnight)
        #expect(last.endsAt == Self.day.unixSeconds(atShanghaiHour: 24))
        #expect(last.endsAt == (Self.day + 1).unixSeconds(atShanghaiHour: 0))
        #expect((first.start, first.end) == ("00:00", "01:00"))
        #expect((last.start, last.end) == ("23:00", "24:00"))
        #expect(windows[9].start == "09:00" && windows[9].end == "10:00")
        #expect(Day(shanghaiTimeOf: first.startsAt) == Self.day)
        #expect(Day(shanghaiTimeOf: last.endsAt - 1) == Self.day)
        // Shanghai midnight is 16:00 UTC the day before.
        #expect(midnight == 1_795_881_600)
    }

    @Test func sentinelsKeepClinicHours() {
        let windows = SiteSchedule.standard(for: .feverSentinel).windows(on: Self.day)
        #expect(
            windows.map { "\($0.start)-\($0.end)" } == [
                "08:00-09:00", "09:00-10:00", "10:00-11:00", "11:00-11:30",
                "13:00-14:00", "14:00-15:00", "15:00-16:00", "16:00-17:00",
            ]
        )
        #expect(windows.map(\.capacity) == [10, 10, 10, 5, 10, 10, 10, 10])
        #expect(windows.first?.startsAt == Self.day.unixSeconds(atShanghaiHour: 8))
        #expect(windows[3].endsAt == Self.day.unixSeconds(atShanghaiHour: 11) + 30 * 60)
        #expect(windows[4].startsAt == Self.day.unixSeconds(atShanghaiHour: 13))
        #expect(windows.last?.endsAt == Self.day.unixSeconds(atShanghaiHour: 17))
        let hours = SiteSchedule.standard(for: .feverSentinel).hoursText
        #expect(hours.map(\.from) == ["08:00", "13:00"])
        #expect(hours.map(\.to) == ["11:30", "17:00"])
        let clinic = SiteSchedule.standard(for: .feverClinic).hoursText
        #expect(clinic.map(\.from) == ["00:00"] && clinic.map(\.to) == ["24:00"])
    }

    @Test func aShortWindowGetsItsShareButAtLeastOne() {
        let schedule = SiteSchedule(hours: [.init(from: 9 * 60, to: 9 * 60 + 50)], slotMinutes: 20, slotCapacity: 4)
        let windows = schedule.windows(on: Self.day)
        #expect(windows.map(\.end) == ["09:20", "09:40", "09:50"])
        #expect(windows.map(\.capacity) == [4, 4, 2])
        let tiny = SiteSchedule(hours: [.init(from: 0, to: 5)], slotMinutes: 60, slotCapacity: 2)
        #expect(tiny.windows(on: Self.day).map(\.capacity) == [1])
    }

    @Test func distances() {
        let ruijin = (lat: 31.2118, lng: 121.4706)
        let jinshan = (lat: 30.7522, lng: 121.3403)
        let km = Geo.distanceKm(lat1: ruijin.lat, lng1: ruijin.lng, lat2: jinshan.lat, lng2: jinshan.lng)
        #expect(abs(km - 52) <= 2, "\(km)")
        let back = Geo.distanceKm(lat1: jinshan.lat, lng1: jinshan.lng, lat2: ruijin.lat, lng2: ruijin.lng)
        #expect(abs(km - back) < 1e-9)
        #expect(Geo.distanceKm(lat1: ruijin.lat, lng1: ruijin.lng, lat2: ruijin.lat, lng2: ruijin.lng) == 0)
        // One degree of latitude is about 111 km.
        #expect(abs(Geo.distanceKm(lat1: 31, lng1: 121, lat2: 32, lng2: 121) - 111.2) < 0.2)
    }
}

// MARK: - Grading and the visit pass

@Suite struct JourneyGradingAndPassTests {
    @Test func routingPerGrade() {
        #expect(PatientGrade.mild.routing == .homeIsolation)
        #expect(PatientGrade.moderate.routing == .districtHospital)
        #expect(PatientGrade.severe.routing == .designatedHospital)
        #expect(PatientGrade.critical.routing == .designatedHospital)
        #expect(PatientGrade.mild.followUpDays == 2)
        for grade in [PatientGrade.moderate, .severe, .critical] {
            #expect(grade.followUpDays == nil, "\(grade)")
        }
        for grade in PatientGrade.allCases {
            #expect(!grade.advice.isEmpty, "\(grade)")
        }
        #expect(Set(PatientGrade.allCases.map(\.advice)).count == PatientGrade.allCases.count)
        #expect(PatientGrade.allCases.map(\.rawValue) == ["mild", "moderate", "severe", "critical"])
        #expect(Routing.allCases.map(\.rawValue) == ["home_isolation", "district_hospital", "designated_hospital"])
    }

    @Test func aPassFromItsWindowHasThirtyMinutesGrace() {
        let day = Day("2026-11-29")!
        let start = day.unixSeconds(atShanghaiHour: 8)
        let end = day.unixSeconds(atShanghaiHour: 9)
        let claims = VisitPassClaims(passId: "p1", appointmentId: 41, siteId: 5, windowStart: start, windowEnd: end)
        #expect(VisitPassClaims.grace == 1800)
        #expect(claims.notBefore == start - 1800)
        #expect(claims.expiresAt == end + 1800)
        #expect(claims.passId == "p1" && claims.appointmentId == 41 && claims.siteId == 5)
        #expect(VisitPassClaims.type == "visit")
        #expect(Set(claims.claims.keys) == ["jti", "apt", "site", "nbf"])
    }

    static func verified(_ json: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func readsVerifiedClaims() throws {
        let claims = try #require(VisitPassClaims(verified: try Self.verified(#"{"jti":"x","apt":4,"site":5,"nbf":100,"exp":200}"#)))
        #expect(claims == VisitPassClaims(passId: "x", appointmentId: 4, siteId: 5, notBefore: 100, expiresAt: 200))
        // The issue time is read (no offline scan may come before it); kid and typ are ignored.
        let more = try Self.verified(#"{"kid":"k1","typ":"visit","iat":90,"jti":"x","apt":4,"site":5,"nbf":100,"exp":200}"#)
        var issued = claims
        issued.issuedAt = 90
        #expect(VisitPassClaims(verified: more) == issued)
        // A whole number written as a decimal is still whole.
        #expect(VisitPassClaims(verified: try Self.verified(#"{"jti":"x","apt":4.0,"site":5,"nbf":100,"exp":200}"#)) == claims)
    }

    @Test(arguments: [
        #"{"apt":4,"site":5,"nbf":100,"exp":200}"#,
        #"{"jti":"x","site":5,"nbf":100,"exp":200}"#,
        #"{"jti":"x","apt":4,"nbf":100,"exp":200}"#,
        #"{"jti":"x","apt":4,"site":5,"exp":200}"#,
        #"{"jti":"x","apt":4,"site":5,"nbf":100}"#,
        #"{"jti":"x","apt":"4","site":5,"nbf":100,"exp":200}"#,
        #"{"jti":7,"apt":4,"site":5,"nbf":100,"exp":200}"#,
        #"{"jti":"x","apt":4.5,"site":5,"nbf":100,"exp":200}"#,
        #"{"jti":"x","apt":null,"site":5,"nbf":100,"exp":200}"#,
    ])
    func refusesMissingOrWrongClaims(_ json: String) throws {
        #expect(VisitPassClaims(verified: try Self.verified(json)) == nil)
    }

    /// JSONSerialization gives booleans as NSNumber too, so `"apt": true` once read as appointment
    /// 1; and a whole number beyond Int64 once became Int64.min. Both are refused.
    @Test func refusesBooleansAndHugeNumbers() throws {
        let boolean = try Self.verified(#"{"jti":"x","apt":true,"site":5,"nbf":100,"exp":200}"#)
        let huge = try Self.verified(#"{"jti":"x","apt":1e20,"site":5,"nbf":100,"exp":200}"#)
        #expect(VisitPassClaims(verified: boolean) == nil)
        #expect(VisitPassClaims(verified: huge) == nil)
    }

    @Test func theClaimsRoundTripThroughJSON() throws {
        let original = VisitPassClaims(passId: "p9", appointmentId: 41, siteId: 5, windowStart: 1_795_910_400, windowEnd: 1_795_914_000)
        var dictionary: [String: Any] = [:]
        for (key, value) in original.claims { dictionary[key] = value }
        dictionary["exp"] = original.expiresAt
        let data = try JSONSerialization.data(withJSONObject: dictionary)
        let read = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(VisitPassClaims(verified: read) == original)
    }
}
