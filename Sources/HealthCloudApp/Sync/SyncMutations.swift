import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import Synchronization

/// The named domain commands a device may push (SPEC.md §4–5). Each runs under the rules and
/// authorization of its REST counterpart, and records its result in the transaction of its
/// effects, so a replay is answered from the record and never runs twice.
struct SyncMutations: Sendable {
    let database: AppDatabase
    let directory: ScopeDirectory
    let clock: AppClock
    let audit: AuditTrail
    let prechecks: PreCheckService

    /// Rejections that mean the world changed under the client's intent: also kept as a
    /// `syncConflicts` record the device can show after it forgot the push answer.
    static let conflictCodes: Set<String> = ["already_acknowledged", "already_resolved", "report_rejected", "correction_reason_required"]

    struct Context: Sendable {
        let mutation: Mutation
        let clientId: String
        let identity: Identity
        let now: Int64
    }

    func run(_ mutation: Mutation, clientId: String, identity: Identity, context requestContext: AppRequestContext) async -> MutationResult {
        let context = Context(mutation: mutation, clientId: clientId, identity: identity, now: clock.seconds)
        do {
            switch SyncMutationName(rawValue: mutation.name) {
            case .acknowledgeWarning: return try await acknowledgeWarning(context, requestContext)
            case .markNotificationRead: return try await markNotificationRead(context)
            case .submitReport: return try await submitReport(context)
            case .submitPreCheck: return try await submitPreCheck(context)
            case nil:
                return try await reject(
                    context,
                    code: "unknown_mutation",
                    message: "\(mutation.name) is not a mutation; use \(SyncMutationName.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
        } catch let error as APIError {
            // A client mistake (bad arguments, no right to do it): rejected for good, alone.
            do {
                return try await reject(context, code: error.code, message: error.message)
            } catch {
                return Self.retry(mutation)
            }
        } catch DatabaseError.uniqueViolation {
            // The same mutation pushed twice at once: the other push recorded it; answer with that.
            if let stored = try? await database.sync.storedResults(clientId: clientId, accountId: identity.accountId, ids: [mutation.id])[mutation.id]
            {
                return MutationResult(
                    id: mutation.id,
                    status: MutationResult.Status(rawValue: stored.status) ?? .rejected,
                    code: stored.code,
                    message: stored.message
                )
            }
            return Self.retry(mutation)
        } catch {
            return Self.retry(mutation)
        }
    }

    static func retry(_ mutation: Mutation) -> MutationResult {
        MutationResult(
            id: mutation.id,
            status: .retry,
            code: "temporarily_unavailable",
            message: "The server could not apply this now; push it again later."
        )
    }

    /// Records a result in `db` (the transaction of the effects, if any).
    func record(_ db: any SQLExecutor, _ context: Context, _ result: MutationResult) async throws {
        try await SyncLog.recordMutation(
            db,
            clientId: context.clientId,
            accountId: context.identity.accountId,
            id: context.mutation.id,
            name: context.mutation.name,
            bodyDigest: context.mutation.bodyDigest,
            status: result.status.rawValue,
            code: result.code,
            message: result.message,
            now: context.now
        )
        if result.status == .rejected, let code = result.code, Self.conflictCodes.contains(code) {
            // Keyed and addressed by account and device: a device id alone is anyone's to claim.
            let account = context.identity.accountId
            try await SyncLog.put(
                db,
                collection: SyncCollection.syncConflicts.name,
                id: "\(account):\(context.clientId):\(context.mutation.id)",
                audience: .client(context.clientId, accountId: account),
                data: .object([
                    "mutationId": .integer(context.mutation.id), "name": .string(context.mutation.name),
                    "code": .string(code), "message": .string(result.message ?? ""),
                ]),
                now: context.now
            )
        }
    }

    func reject(_ context: Context, code: String, message: String) async throws -> MutationResult {
        let result = MutationResult(id: context.mutation.id, status: .rejected, code: code, message: message)
        try await database.database.write { db in try await record(db, context, result) }
        return result
    }

    // MARK: Arguments

    static func args(_ mutation: Mutation) throws -> [String: JSONValue] {
        guard case .object(let args) = mutation.args else {
            throw APIError(.badRequest, code: "invalid_field", message: "args must be an object.", field: "args")
        }
        return args
    }

    static func integer(_ args: [String: JSONValue], _ name: String) throws -> Int {
        guard case .integer(let value)? = args[name], value >= 1, value < Int64(Int32.max) else {
            throw APIError(.badRequest, code: "invalid_field", message: "args.\(name) must be a positive integer.", field: "args.\(name)")
        }
        return Int(value)
    }

    static func string(_ args: [String: JSONValue], _ name: String, maxLength: Int) throws -> String {
        guard case .string(let raw)? = args[name] else {
            throw APIError(.badRequest, code: "invalid_field", message: "args.\(name) must be a string.", field: "args.\(name)")
        }
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maxLength).contains(value.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "args.\(name) must have 1–\(maxLength) characters.", field: "args.\(name)")
        }
        return value
    }

    // MARK: The mutations

    func acknowledgeWarning(_ context: Context, _ requestContext: AppRequestContext) async throws -> MutationResult {
        let args = try Self.args(context.mutation)
        let id = try Self.integer(args, "warningId")
        let note = try Self.string(args, "note", maxLength: 500)
        guard let scope = try await database.warnings.scope(ofWarning: id), let path = try await directory.path(of: scope) else {
            throw APIError.notFound("warning_not_found", "There is no warning \(id).")
        }
        guard context.identity.may([.leader], at: path) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "Warning \(id) is outside the scopes you lead.")
        }
        let result: MutationResult = try await database.database.write { db in
            let result: MutationResult
            switch try await WarningRepository.acknowledge(db, id: id, by: context.identity.accountId, note: note, now: context.now) {
            case .done: result = MutationResult(id: context.mutation.id, status: .applied)
            case .notFound:
                result = MutationResult(id: context.mutation.id, status: .rejected, code: "warning_not_found", message: "There is no warning \(id).")
            case .alreadyAcknowledged:
                result = MutationResult(
                    id: context.mutation.id,
                    status: .rejected,
                    code: "already_acknowledged",
                    message: "Warning \(id) was already acknowledged; it opens again if it escalates."
                )
            case .alreadyResolved:
                result = MutationResult(
                    id: context.mutation.id,
                    status: .rejected,
                    code: "already_resolved",
                    message: "Warning \(id) was resolved meanwhile."
                )
            }
            try await record(db, context, result)
            return result
        }
        if result.status == .applied {
            try await audit.record(
                "warning_ack",
                target: "warning:\(id)",
                result: "success",
                context: requestContext,
                identity: context.identity,
                detail: "sync \(context.clientId)#\(context.mutation.id)"
            )
        }
        return result
    }

    func markNotificationRead(_ context: Context) async throws -> MutationResult {
        let args = try Self.args(context.mutation)
        let id = try Self.integer(args, "notificationId")
        guard
            let patient = context.identity.assignments.lazy.compactMap({ assignment -> Int? in
                if case .patient(let patientId) = assignment.scope { patientId } else { nil }
            }).first
        else {
            throw APIError(.forbidden, code: "forbidden_role", message: "Only patients read notifications.")
        }
        return try await database.database.write { db in
            let result: MutationResult
            switch try await NotificationRepository.markRead(db, id: id, patientId: patient, now: context.now) {
            case .marked, .alreadyRead: result = MutationResult(id: context.mutation.id, status: .applied)
            case .notFound:
                result = MutationResult(
                    id: context.mutation.id,
                    status: .rejected,
                    code: "notification_not_found",
                    message: "You have no notification \(id)."
                )
            }
            try await record(db, context, result)
            return result
        }
    }

    func submitReport(_ context: Context) async throws -> MutationResult {
        let args = try Self.args(context.mutation)
        let campusId = try Self.integer(args, "campusId")
        guard case .string(let dateText)? = args["date"], let date = Day(dateText) else {
            throw APIError(.badRequest, code: "invalid_field", message: "args.date must be a date YYYY-MM-DD.", field: "args.date")
        }
        guard let report = args["report"], case .object = report else {
            throw APIError(.badRequest, code: "invalid_field", message: "args.report must be the daily report object.", field: "args.report")
        }
        var reason: String?
        if let value = args["correctionReason"], value != .null { reason = try Self.string(args, "correctionReason", maxLength: 500) }
        guard let path = try await directory.path(of: .campus(campusId)) else {
            throw APIError.notFound("campus_not_found", "There is no campus \(campusId).")
        }
        guard context.identity.may([.reporter], at: path) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "Campus \(campusId) is outside your reporting scope.")
        }
        let districtLevel = context.identity.assignments.contains { assignment in
            assignment.role == .reporter
                && {
                    switch assignment.scope {
                    case .city: true
                    case .district(let code): code == path.districtCode
                    default: false
                    }
                }()
        }
        let submission = ReportSubmission(
            campusId: campusId,
            date: date,
            body: report,
            correctionReason: reason,
            submittedBy: context.identity.accountId,
            submittedAt: context.now,
            submitterMayApprove: districtLevel
        )
        let id = context.mutation.id
        let holder = ResultHolder()
        _ = try await database.ingestion.ingest([submission], today: Day(shanghaiTimeOf: context.now), now: context.now) { outcomes, db in
            let result: MutationResult =
                switch outcomes[0] {
                case .accepted: MutationResult(id: id, status: .applied)
                case .pendingApproval:
                    MutationResult(
                        id: id,
                        status: .applied,
                        code: "pending_approval",
                        message: "The correction waits for a district reporter's approval."
                    )
                case .rejected(let findings):
                    MutationResult(
                        id: id,
                        status: .rejected,
                        code: "report_rejected",
                        message: findings.filter { $0.severity == .error }.map { "\($0.field ?? "report"): \($0.message)" }.joined(separator: "; ")
                    )
                case .correctionReasonRequired:
                    MutationResult(id: id, status: .rejected, code: "correction_reason_required", message: "A correction needs a correctionReason.")
                case .unknownCampus: MutationResult(id: id, status: .rejected, code: "campus_not_found", message: "There is no campus \(campusId).")
                }
            try await record(db, context, result)
            holder.set(result)
        }
        return holder.get() ?? Self.retry(context.mutation)
    }
}

extension SyncMutations {
    /// A pre-check answered offline: validated and triaged as `POST /api/v1/prechecks` does,
    /// stored with its `prechecks` record in the transaction that records the result.
    func submitPreCheck(_ context: Context) async throws -> MutationResult {
        let args = try Self.args(context.mutation)
        let patientId = try context.identity.requirePatientId()
        guard case .integer(let version)? = args["questionnaireVersion"], version >= 1, version < Int64(Int32.max) else {
            throw APIError(
                .badRequest,
                code: "invalid_field",
                message: "args.questionnaireVersion must be a positive integer.",
                field: "args.questionnaireVersion"
            )
        }
        guard case .object(let answers)? = args["answers"] else {
            throw APIError(.badRequest, code: "invalid_field", message: "args.answers must be an object of linkId → answer.", field: "args.answers")
        }
        var location: (lat: Double, lng: Double)?
        if let value = args["location"], value != .null {
            guard case .object(let point) = value, let lat = Self.number(point["lat"]), let lng = Self.number(point["lng"]),
                (-90...90).contains(lat), (-180...180).contains(lng)
            else {
                throw APIError(.badRequest, code: "invalid_field", message: "args.location must be {lat, lng} on Earth.", field: "args.location")
            }
            location = (lat, lng)
        }
        // Decimals travel as strings in sync payloads (SPEC.md §5): read them back as numbers.
        let questionnaire = try PreCheckService.questionnaire(version: Int(version))
        var typed = answers
        for (linkId, value) in answers {
            guard case .string(let text) = value, let item = questionnaire.item(linkId), item.type == .decimal || item.type == .integer,
                let number = Double(text), number.isFinite
            else { continue }
            typed[linkId] = .number(number)
        }
        switch try prechecks.evaluate(patientId: patientId, version: Int(version), answers: typed, location: location) {
        case .failure(let invalid):
            return try await reject(context, code: "invalid_answers", message: invalid.message)
        case .success(let new):
            return try await database.database.write { db in
                let precheck = try await PreCheckRepository.insert(db, new, now: context.now)
                let result = MutationResult(
                    id: context.mutation.id,
                    status: .applied,
                    code: nil,
                    message: "pre-check \(precheck.id): \(precheck.level.rawValue)"
                )
                try await record(db, context, result)
                return result
            }
        }
    }

    static func number(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let number)?: Double(number)
        case .number(let number)?: number
        case .string(let text)?: Double(text)
        default: nil
        }
    }
}

/// Carries the result out of the ingestion's transaction hook.
final class ResultHolder: Sendable {
    private let value = Mutex<MutationResult?>(nil)

    func set(_ result: MutationResult) { value.withLock { $0 = result } }
    func get() -> MutationResult? { value.withLock { $0 } }
}
