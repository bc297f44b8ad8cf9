import HealthCloudStorage
import Logging
import Synchronization

/// Audits authorization refusals (403) without letting a flood of them flood the log: a
/// caller's first refusal is one row at once; the refusals that follow within `burstSeconds`
/// are counted and written as one `access_refused` row with their count when the burst ends.
/// The chain stays whole (every refusal is accounted for) and the log grows by at most two
/// rows per caller and burst, whatever the attacker sends.
final class RefusalAudit: Sendable {
    struct Burst {
        var startedAt: Int64
        var count = 0
        var lastCode = ""
        var lastRoute = ""
        var account: Int?
        var role: String
        var clientIP: String
    }

    let log: AuditLog
    let clock: AppClock
    let burstSeconds: Int64
    /// Callers remembered at once; past it, every open burst is written out and forgotten.
    let maxCallers: Int
    private let bursts = Mutex<[String: Burst]>([:])

    init(log: AuditLog, clock: AppClock, burstSeconds: Int64 = 60, maxCallers: Int = 10_000) {
        self.log = log
        self.clock = clock
        self.burstSeconds = burstSeconds
        self.maxCallers = maxCallers
    }

    /// Notes one refusal of `route` for the caller (an account, else its address).
    func refused(_ error: APIError, route: String, identity: Identity?, context: AppRequestContext) async throws {
        let now = clock.seconds
        let key = identity.map { "account:\($0.accountId)" } ?? "ip:\(context.clientIP)"
        enum Step {
            case first([Burst])
            case counted
        }
        let step: Step = bursts.withLock { bursts in
            if var burst = bursts[key], now - burst.startedAt < burstSeconds {
                burst.count += 1
                burst.lastCode = error.code
                burst.lastRoute = route
                bursts[key] = burst
                return .counted
            }
            var ended = bursts.removeValue(forKey: key).map { [$0] } ?? []
            if bursts.count >= maxCallers {
                ended += bursts.values
                bursts.removeAll()
            }
            bursts[key] = Burst(startedAt: now, account: identity?.accountId, role: identity?.roleLabel ?? "anonymous", clientIP: context.clientIP)
            return .first(ended)
        }
        guard case .first(let ended) = step else { return }
        try await write(ended)
        try await log.append(
            AuditEntry(
                at: Timestamp.iso8601(clock.now),
                actorAccount: identity?.accountId,
                actorRole: identity?.roleLabel ?? "anonymous",
                action: "access_refused",
                target: route,
                result: error.code,
                clientIP: context.clientIP,
                requestID: context.requestID
            )
        )
    }

    /// Writes the bursts that are over (all of them with `everything`, at shutdown).
    func flush(everything: Bool = false) async throws {
        let now = clock.seconds
        let ended: [Burst] = bursts.withLock { bursts in
            let over = bursts.filter { everything || now - $0.value.startedAt >= burstSeconds }
            for key in over.keys { bursts.removeValue(forKey: key) }
            return Array(over.values)
        }
        try await write(ended)
    }

    private func write(_ ended: [Burst]) async throws {
        for burst in ended where burst.count > 0 {
            try await log.append(
                AuditEntry(
                    at: Timestamp.iso8601(clock.now),
                    actorAccount: burst.account,
                    actorRole: burst.role,
                    action: "access_refused",
                    target: burst.lastRoute,
                    result: "burst",
                    clientIP: burst.clientIP,
                    detail: "\(burst.count) more refusals within \(burstSeconds) s of the first; the last: \(burst.lastCode)"
                )
            )
        }
    }
}

extension PeriodicService {
    /// Writes out the refusal bursts that ended, every few seconds and at shutdown.
    static func refusalBursts(_ audit: RefusalAudit, logger: Logger) -> PeriodicService {
        PeriodicService(
            name: "refusal audit",
            interval: .seconds(15),
            runsAtShutdown: true,
            logger: logger,
            work: { try await audit.flush() },
            finalWork: { try await audit.flush(everything: true) }
        )
    }
}
