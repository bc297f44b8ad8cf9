import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage

/// Who runs a command and through which door: the identity it acts as, and the request's
/// who/where for the audit row the command writes in its own transaction.
struct Caller: Sendable {
    enum Channel: Sendable, Equatable {
        case rest
        /// A mutation pushed by a device (SPEC.md §4).
        case sync(clientId: String, mutationId: Int64)
    }

    let identity: Identity
    let clientIP: String
    let requestID: String
    let channel: Channel

    init(_ identity: Identity, context: AppRequestContext, channel: Channel = .rest) {
        self.identity = identity
        clientIP = context.clientIP
        requestID = context.requestID
        self.channel = channel
    }

    /// The caller as a REST request names it (401 when it is not signed in).
    init(_ context: AppRequestContext) throws {
        self.init(try context.requireIdentity(), context: context)
    }

    /// The audit row of an action this caller took at `time`.
    func auditEntry(_ action: String, target: String, result: String, detail: String = "", at time: Date) -> AuditEntry {
        var detail = detail
        if case .sync(let clientId, let mutationId) = channel {
            detail = "sync \(clientId)#\(mutationId)" + (detail.isEmpty ? "" : "; \(detail)")
        }
        return AuditEntry(
            at: Timestamp.iso8601(time),
            actorAccount: identity.accountId,
            actorRole: identity.roleLabel,
            action: action,
            target: target,
            result: result,
            clientIP: clientIP,
            requestID: requestID,
            detail: detail
        )
    }
}

/// Work a sync mutation adds to a command's transaction (its exactly-once record), given the
/// command's outcome: it commits with the effect and the audit row, or none of them does.
typealias InTransaction<Outcome> = @Sendable (Repositories, Outcome) async throws -> Void

/// A command's decision as a sync mutation result shows it (SPEC.md §5). Each outcome type
/// says it once; ``SyncMutations`` turns it into the wire result for every command.
protocol MutationOutcome: Sendable {
    var mutationStatus: MutationStatus { get }
}

enum MutationStatus: Sendable, Equatable {
    case applied(code: String? = nil, message: String? = nil)
    case rejected(code: String, message: String)

    /// A refusal the REST door answers with `error`: the same code and message on both doors.
    static func rejected(_ error: APIError) -> MutationStatus { .rejected(code: error.code, message: error.message) }
}

/// The named arguments of a command (a REST body, a mutation's `args`, a batch item), read
/// with one rule per kind of field, so both doors refuse the same bad input with the same
/// `invalid_field` code, message and field path (`prefix` + name).
struct Arguments: Sendable {
    let fields: [String: JSONValue]
    /// Where these fields sit in the request: "" for a REST body, "args." for a mutation.
    let prefix: String

    init(_ fields: [String: JSONValue], prefix: String) {
        self.fields = fields
        self.prefix = prefix
    }

    /// The arguments object, or 400 naming `field`.
    init(object value: JSONValue, field: String, prefix: String) throws {
        guard case .object(let fields) = value else {
            throw APIError(.badRequest, code: "invalid_field", message: "\(field) must be an object.", field: field)
        }
        self.init(fields, prefix: prefix)
    }

    func invalid(_ name: String, _ rule: String) -> APIError {
        APIError(.badRequest, code: "invalid_field", message: "\(prefix)\(name) \(rule).", field: "\(prefix)\(name)")
    }

    func isPresent(_ name: String) -> Bool {
        if let value = fields[name], value != .null { true } else { false }
    }

    func positiveInteger(_ name: String) throws -> Int {
        guard case .integer(let value)? = fields[name], value >= 1, value < Int64(Int32.max) else {
            throw invalid(name, "must be a positive integer")
        }
        return Int(value)
    }

    func day(_ name: String) throws -> Day {
        guard case .string(let text)? = fields[name], let day = Day(text) else { throw invalid(name, "must be a date YYYY-MM-DD") }
        return day
    }

    func object(_ name: String, _ what: String) throws -> [String: JSONValue] {
        guard case .object(let object)? = fields[name] else { throw invalid(name, "must be \(what)") }
        return object
    }

    /// Text trimmed of surrounding white space, 1…`maxLength` characters.
    func text(_ name: String, maxLength: Int, purpose: String = "") throws -> String {
        guard case .string(let raw)? = fields[name] else { throw invalid(name, "must be a string") }
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maxLength).contains(value.count) else {
            throw invalid(name, "must have 1–\(maxLength) characters" + (purpose.isEmpty ? "" : ": \(purpose)"))
        }
        return value
    }

    /// Optional text of at most `maxLength` characters, kept as sent (nil when absent or null).
    func optionalText(_ name: String, maxLength: Int) throws -> String? {
        guard isPresent(name) else { return nil }
        guard case .string(let text)? = fields[name] else { throw invalid(name, "must be a string") }
        guard text.count <= maxLength else { throw invalid(name, "must have at most \(maxLength) characters") }
        return text
    }

    /// A point on Earth `{lat, lng}` (numbers, or decimal strings as sync payloads carry them).
    func location(_ name: String) throws -> (lat: Double, lng: Double)? {
        guard isPresent(name) else { return nil }
        guard case .object(let point)? = fields[name] else { throw invalid(name, "must be {lat, lng}") }
        let inner = Arguments(point, prefix: "\(prefix)\(name).")
        let lat = try inner.number("lat", in: -90...90)
        let lng = try inner.number("lng", in: -180...180)
        return (lat, lng)
    }

    func number(_ name: String, in range: ClosedRange<Double>) throws -> Double {
        let value: Double? =
            switch fields[name] {
            case .integer(let number)?: Double(number)
            case .number(let number)?: number
            case .string(let text)?: Double(text)
            default: nil
            }
        guard let value, value.isFinite, range.contains(value) else {
            throw invalid(name, "must be a number between \(Self.plain(range.lowerBound)) and \(Self.plain(range.upperBound))")
        }
        return value
    }

    private static func plain(_ value: Double) -> String { value.rounded() == value ? String(Int(value)) : String(value) }
}
