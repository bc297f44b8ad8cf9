import Foundation
import HealthCloudDomain

/// Answered pre-checks with the triage they got; synced to the patient as `prechecks`.
public struct PreCheckRepository: Sendable {
    let db: Repositories

    /// How long a pre-check may back a booking.
    public static let validity: Int64 = 24 * 3600

    public struct PreCheck: Sendable, Equatable {
        public var id: Int
        public var patientId: Int
        public var questionnaireVersion: Int
        public var ruleTableVersion: Int
        public var answers: [String: JSONValue]
        public var level: TriageLevel
        public var reasons: [TriageRuleTable.Reason]
        public var advice: String
        public var latitude: Double?
        public var longitude: Double?
        public var createdAt: Int64

        public var validUntil: Int64 { createdAt + PreCheckRepository.validity }
    }

    public struct NewPreCheck: Sendable {
        public var patientId: Int
        public var questionnaireVersion: Int
        public var ruleTableVersion: Int
        public var answers: [String: JSONValue]
        public var outcome: TriageRuleTable.Outcome
        public var latitude: Double?
        public var longitude: Double?

        public init(
            patientId: Int,
            questionnaireVersion: Int,
            ruleTableVersion: Int,
            answers: [String: JSONValue],
            outcome: TriageRuleTable.Outcome,
            latitude: Double?,
            longitude: Double?
        ) {
            self.patientId = patientId
            self.questionnaireVersion = questionnaireVersion
            self.ruleTableVersion = ruleTableVersion
            self.answers = answers
            self.outcome = outcome
            self.latitude = latitude
            self.longitude = longitude
        }
    }

    /// Stores a pre-check and its sync record in the caller's transaction.
    public func insert(_ new: NewPreCheck, now: Int64) async throws -> PreCheck {
        try await db.write { db in
            let answers = String(decoding: try ReportRepository.canonicalEncoder.encode(new.answers), as: UTF8.self)
            let reasons = String(decoding: try ReportRepository.canonicalEncoder.encode(new.outcome.reasons), as: UTF8.self)
            guard
                let row = try await db.first(
                    """
                    INSERT INTO prechecks (patient_id, questionnaire_version, rule_table_version, answers, level, reasons, advice, latitude, longitude, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id
                    """,
                    [
                        .integer(Int64(new.patientId)), .integer(Int64(new.questionnaireVersion)), .integer(Int64(new.ruleTableVersion)),
                        .text(answers),
                        .text(new.outcome.level.rawValue), .text(reasons), .text(new.outcome.advice),
                        SQLValue(new.latitude, SQLValue.real), SQLValue(new.longitude, SQLValue.real), .integer(now),
                    ]
                )
            else { throw DatabaseError.engine("no id returned") }
            let precheck = PreCheck(
                id: try row.int("id"),
                patientId: new.patientId,
                questionnaireVersion: new.questionnaireVersion,
                ruleTableVersion: new.ruleTableVersion,
                answers: new.answers,
                level: new.outcome.level,
                reasons: new.outcome.reasons,
                advice: new.outcome.advice,
                latitude: new.latitude,
                longitude: new.longitude,
                createdAt: now
            )
            try await db.sync.put(
                collection: "prechecks",
                id: String(precheck.id),
                audience: .patient(new.patientId),
                data: .object([
                    "questionnaireVersion": .integer(Int64(precheck.questionnaireVersion)),
                    "ruleTableVersion": .integer(Int64(precheck.ruleTableVersion)),
                    "answers": .object(precheck.answers.mapValues(\.decimalsAsStrings)),
                    "level": .string(precheck.level.rawValue),
                    "reasons": .array(precheck.reasons.map { .object(["rule": .string($0.rule), "text": .string($0.text)]) }),
                    "advice": .string(precheck.advice),
                    "createdAt": .integer(now), "validUntil": .integer(precheck.validUntil),
                ]),
                now: now
            )
            return precheck
        }
    }

    public func precheck(id: Int) async throws -> PreCheck? {
        guard
            let row = try await db.first(
                """
                SELECT id, patient_id, questionnaire_version, rule_table_version, answers, level, reasons, advice, latitude, longitude, created_at
                FROM prechecks WHERE id = $1
                """,
                [.integer(Int64(id))]
            )
        else { return nil }
        let decoder = JSONDecoder()
        return PreCheck(
            id: try row.int("id"),
            patientId: try row.int("patient_id"),
            questionnaireVersion: try row.int("questionnaire_version"),
            ruleTableVersion: try row.int("rule_table_version"),
            answers: try decoder.decode([String: JSONValue].self, from: Data(try row.string("answers").utf8)),
            level: TriageLevel(rawValue: try row.string("level")) ?? .homeCare,
            reasons: try decoder.decode([TriageRuleTable.Reason].self, from: Data(try row.string("reasons").utf8)),
            advice: try row.string("advice"),
            latitude: try row.optionalDouble("latitude"),
            longitude: try row.optionalDouble("longitude"),
            createdAt: try row.int64("created_at")
        )
    }
}

extension JSONValue {
    /// Fractional numbers as decimal strings, as sync records carry them (SPEC.md §5).
    var decimalsAsStrings: JSONValue {
        switch self {
        case .number(let value): .string(SyncLog.decimal(value))
        case .array(let values): .array(values.map(\.decimalsAsStrings))
        case .object(let members): .object(members.mapValues(\.decimalsAsStrings))
        default: self
        }
    }
}
