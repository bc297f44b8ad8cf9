import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOHTTP1
import NIOWebSocket
import ServiceLifecycle
import Synchronization

/// Watches the sync log's version counter — in the shared database, so it sees commits of
/// every server instance — and, when it moves, reads once which partitions the new changes
/// touch. Every live socket and long poll decides from that alone: a commit costs the same
/// queries with one connection open as with hundreds.
final class SyncWatcher: Service, Sendable {
    /// What changed since a listener last looked: the newest version and the audiences of the
    /// changed records (nil: unknown — a read failed — so every listener treats it as its own).
    struct Batch: Sendable, Equatable {
        var version: Int64
        var audiences: Set<SyncAudience>?

        func concerns(_ grants: [SyncAudience]) -> Bool {
            guard let audiences else { return true }
            return audiences.contains { audience in grants.contains { $0.admits(audience) } }
        }

        func merged(with other: Batch) -> Batch {
            Batch(version: max(version, other.version), audiences: audiences.flatMap { mine in other.audiences.map { mine.union($0) } })
        }
    }

    /// One listener's batches, merged while it is busy (nothing is dropped); `signals` says
    /// when to `take()`.
    final class Subscription: Sendable {
        let signals: AsyncStream<Void>
        fileprivate let continuation: AsyncStream<Void>.Continuation
        private let pending = Mutex<Batch?>(nil)

        fileprivate init() {
            (signals, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        fileprivate func deliver(_ batch: Batch) {
            pending.withLock { $0 = $0.map { $0.merged(with: batch) } ?? batch }
            continuation.yield()
        }

        func take() -> Batch? {
            pending.withLock { batch in
                defer { batch = nil }
                return batch
            }
        }
    }

    let sync: SyncLog
    let interval: Duration
    let counters: SyncLiveCounters
    private let listeners = Mutex<[UUID: Subscription]>([:])
    private let last = Mutex<Int64>(0)

    init(sync: SyncLog, interval: Duration = .milliseconds(250), counters: SyncLiveCounters = SyncLiveCounters()) {
        self.sync = sync
        self.interval = interval
        self.counters = counters
    }

    func subscribe() -> (UUID, Subscription) {
        let subscription = Subscription()
        let id = UUID()
        listeners.withLock { $0[id] = subscription }
        return (id, subscription)
    }

    func unsubscribe(_ id: UUID) {
        listeners.withLock { $0.removeValue(forKey: id) }?.continuation.finish()
    }

    /// The highest version announced so far.
    var announced: Int64 { last.withLock { $0 } }

    /// When the counter moved past what was announced: claims the range (concurrent checks
    /// claim disjoint ones), reads its audiences once and hands the batch to every listener.
    private func check() async {
        guard let current = try? await sync.state().lastVersion else { return }
        let previous: Int64? = last.withLock { last in
            guard current > last else { return nil }
            defer { last = current }
            return last
        }
        guard let previous else { return }
        counters.changeReads.add(1, ordering: .relaxed)
        let audiences = try? await sync.audiences(after: previous, through: current)
        let batch = Batch(version: current, audiences: audiences)
        for subscription in listeners.withLock({ Array($0.values) }) { subscription.deliver(batch) }
    }

    func run() async throws {
        let initial = (try? await sync.state().lastVersion) ?? 0
        last.withLock { $0 = max($0, initial) }
        // PostgreSQL announces commits (LISTEN/NOTIFY, every instance hears them); the poll is
        // then only a safety net. SQLite (one process) is polled.
        let poll = sync.announcesChanges ? Duration.seconds(5) : interval
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        do {
                            try await self.sync.listen { await self.check() }
                            return
                        } catch {
                            try? await Task.sleep(for: .seconds(1))
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: poll)
                        await self.check()
                    }
                }
                await group.waitForAll()
            }
        }
        listeners.withLock { listeners in
            for subscription in listeners.values { subscription.continuation.finish() }
            listeners.removeAll()
        }
    }
}

/// How many live sockets and waiting long polls one session and one account may hold
/// (docs/security.md). Over a cap a long poll and a socket upgrade answer `429` with `Retry-After`.
public struct SyncLiveLimits: Sendable, Equatable {
    public var socketsPerSession = 4
    public var socketsPerAccount = 16
    public var longPollsPerSession = 2
    public var longPollsPerAccount = 8
    /// Seconds a refused caller is asked to wait.
    public var retryAfterSeconds = 30

    public init() {}
}

/// What the live side of sync costs the database, for tests and benchmarks.
public final class SyncLiveCounters: Sendable {
    /// Reads of the changed audiences: one per move of the counter, shared by every listener.
    public let changeReads = Atomic<Int>(0)
    /// Session look-ups made to re-check a socket's session (the verified-session memory missed).
    public let sessionReads = Atomic<Int>(0)
    /// Page reads of waiting long polls after a change that concerned them.
    public let longPollReads = Atomic<Int>(0)

    public init() {}
}

/// The live side of sync, shared by the long poll (pull) and the socket: the watcher, the caps
/// and the re-check of a session against the verified-session memory.
final class SyncLiveHub: Sendable {
    enum Kind: String { case socket, longPoll }

    let database: AppDatabase
    let clock: AppClock
    let watcher: SyncWatcher
    let sessions: SessionCache?
    let limits: SyncLiveLimits
    var counters: SyncLiveCounters { watcher.counters }
    private let held = Mutex<[String: Int]>([:])
    private let lookups = Mutex<[String: Task<(SessionRepository.AccessLookup, [IdentityRepository.StoredAssignment])?, any Error>]>([:])

    init(database: AppDatabase, clock: AppClock, configuration: AppConfiguration, counters: SyncLiveCounters = SyncLiveCounters()) {
        self.database = database
        self.clock = clock
        watcher = SyncWatcher(sync: database.sync, counters: counters)
        sessions = configuration.identity.sessionCacheSeconds > 0 ? SessionCache(lifetime: .seconds(configuration.identity.sessionCacheSeconds)) : nil
        limits = configuration.syncLive
    }

    // MARK: Caps

    /// Takes a slot of `kind` for the session and its account; false when either is full.
    func admit(_ kind: Kind, sessionId: String, accountId: Int) -> Bool {
        let (session, account) = ("\(kind.rawValue) s \(sessionId)", "\(kind.rawValue) a \(accountId)")
        let (perSession, perAccount) =
            kind == .socket
            ? (limits.socketsPerSession, limits.socketsPerAccount)
            : (limits.longPollsPerSession, limits.longPollsPerAccount)
        return held.withLock { held in
            guard held[session, default: 0] < perSession, held[account, default: 0] < perAccount else { return false }
            held[session, default: 0] += 1
            held[account, default: 0] += 1
            return true
        }
    }

    func release(_ kind: Kind, sessionId: String, accountId: Int) {
        held.withLock { held in
            for key in ["\(kind.rawValue) s \(sessionId)", "\(kind.rawValue) a \(accountId)"] {
                held[key] = held[key].map { $0 > 1 ? $0 - 1 : nil } ?? nil
            }
        }
    }

    // MARK: Sessions

    enum Verdict: Equatable {
        case alive(sessionId: String, accountId: Int, assignments: Set<RoleAssignment>)
        /// The session is over (the code a request would get: token_expired, session_revoked, …).
        case ended(String)
        /// Could not tell (the database failed): decide next time.
        case unknown
    }

    /// The session behind an access token, as a request would find it: from the
    /// verified-session memory (emptied by every state-changing request: sign-out, role changes,
    /// revocations) or, once for all the sockets of a session, from the database.
    func verify(tokenHash: String) async -> Verdict {
        let found: (SessionRepository.AccessLookup, [IdentityRepository.StoredAssignment])?
        if let entry = sessions?.entry(tokenHash) {
            found = (entry.lookup, entry.assignments)
        } else {
            let task = lookups.withLock { lookups in
                if let running = lookups[tokenHash] { return running }
                let task = Task { [database, counters] in
                    counters.sessionReads.add(1, ordering: .relaxed)
                    return try await database.identity.lookupAccess(tokenHash: tokenHash)
                }
                lookups[tokenHash] = task
                return task
            }
            let result = await task.result
            // Remembered before the look-up is let go, so the sockets behind it find it.
            if case .success(let value?) = result, value.0.session.revokedAt == nil, value.1.allSatisfy(\.intact) {
                sessions?.store(tokenHash, SessionCache.Entry(lookup: value.0, assignments: value.1, stored: .now))
            }
            lookups.withLock { if $0[tokenHash] == task { $0[tokenHash] = nil } }
            guard case .success(let value) = result else { return .unknown }
            found = value
        }
        guard let (lookup, stored) = found else { return .ended("token_invalid") }
        let now = clock.seconds
        if lookup.tokenExpiresAt <= now { return .ended("token_expired") }
        do {
            try IdentityService.checkSessionAlive(lookup.session, now: now)
        } catch let error as APIError {
            return .ended(error.code)
        } catch {
            return .ended("session_expired")
        }
        return .alive(sessionId: lookup.session.id, accountId: lookup.session.accountId, assignments: Set(stored.filter(\.intact).map(\.assignment)))
    }

    // MARK: Long poll

    /// Holds a pull that found nothing until a change it may read commits (told by the watcher,
    /// no query of its own), then reads the page once; nil when the time passes first.
    func longPoll(
        identity: Identity,
        grants: [SyncAudience],
        since: Int64,
        seconds: Int,
        read: () async throws -> SyncLog.Page
    ) async throws -> SyncLog.Page? {
        guard admit(.longPoll, sessionId: identity.sessionId, accountId: identity.accountId) else {
            throw APIError(
                .tooManyRequests,
                code: "too_many_long_polls",
                message:
                    "This session or account already holds \(limits.longPollsPerSession) (per session) or \(limits.longPollsPerAccount) (per account) waiting pulls.",
                headers: [.retryAfter: String(limits.retryAfterSeconds)]
            )
        }
        defer { release(.longPoll, sessionId: identity.sessionId, accountId: identity.accountId) }
        let (id, subscription) = watcher.subscribe()
        defer { watcher.unsubscribe(id) }
        let deadline = ContinuousClock.now + .seconds(seconds)
        // Announced before this request subscribed: look at once.
        var due = watcher.announced > since
        while ContinuousClock.now < deadline {
            if !due {
                due = await withTaskGroup(of: Bool.self) { group in
                    group.addTask {
                        for await _ in subscription.signals {
                            if let batch = subscription.take(), batch.version > since, batch.concerns(grants) { return true }
                        }
                        return false
                    }
                    group.addTask {
                        try? await Task.sleep(until: deadline)
                        return false
                    }
                    let first = await group.next() ?? false
                    group.cancelAll()
                    return first
                }
                guard due else { return nil }
            }
            due = false
            counters.longPollReads.add(1, ordering: .relaxed)
            let page = try await read()
            if !page.records.isEmpty { return page }
        }
        return nil
    }
}

/// `GET /api/v1/sync/live`: a WebSocket (mini-programs: `wx.connectSocket` with the bearer
/// token in its `header`) that pokes the device when a change it may read commits, so it pulls
/// at once instead of polling (SyncProtocol/SPEC.md §7). A poke carries no data. The session is
/// re-checked before every poke and ping; when it ends, or its roles change, the socket closes
/// with a code that says what to do.
struct SyncLive: Sendable {
    let database: AppDatabase
    let directory: ScopeDirectory
    let hub: SyncLiveHub
    let clock: AppClock
    static let path = "/api/v1/sync/live"

    /// Close codes (SPEC.md §7), with the reason text carrying the API error code.
    enum CloseCode: UInt16 {
        /// The session ended (sign-out, expiry, idle time, revocation): refresh or sign in, then reconnect.
        case sessionEnded = 4401
        /// The account's roles changed: reconnect (the next pull is a reset to the new partitions).
        case grantsChanged = 4403
    }

    /// Upgrades a valid bearer on the live path. An upgrade request without a valid session is
    /// answered `401` with the code any route gives (a refused upgrade would otherwise be a bare
    /// 400), one over the caps `429` with `Retry-After`; anything else goes to the router (401
    /// without a token, 400 to a plain GET).
    func shouldUpgrade(
        _ request: HTTPRequest,
        channel: any Channel
    ) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard request.path?.split(separator: "?").first.map(String.init) == Self.path else { return .dontUpgrade }
        guard let header = request.headerFields[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            return refuse(
                APIError(
                    .unauthorized,
                    code: "unauthenticated",
                    message: "Sign in first: send Authorization: Bearer <access token>.",
                    headers: [.wwwAuthenticate: "Bearer"]
                ),
                on: channel
            )
        }
        let tokenHash = DataProtection.tokenHash(String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        // The same checks as any request (expiry, revocation, idle time), with the same codes.
        let (sessionId, accountId, assignments): (String, Int, Set<RoleAssignment>)
        switch await hub.verify(tokenHash: tokenHash) {
        case .alive(let session, let account, let held):
            (sessionId, accountId, assignments) = (session, account, held)
        case .ended(let code):
            let message =
                switch code {
                case "token_invalid": "The access token is not valid."
                case "token_expired": "The access token has expired; refresh it."
                default: "This session has ended. Sign in again."
                }
            return refuse(
                APIError(.unauthorized, code: code, message: message, headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""]),
                on: channel
            )
        case .unknown:
            return refuse(
                APIError(
                    .serviceUnavailable,
                    code: "temporarily_unavailable",
                    message: "The session could not be checked; try again.",
                    headers: [.retryAfter: "5"]
                ),
                on: channel
            )
        }
        guard hub.admit(.socket, sessionId: sessionId, accountId: accountId) else {
            return refuse(
                APIError(
                    .tooManyRequests,
                    code: "too_many_sockets",
                    message:
                        "This session or account already holds \(hub.limits.socketsPerSession) (per session) or \(hub.limits.socketsPerAccount) (per account) live sockets.",
                    headers: [.retryAfter: String(hub.limits.retryAfterSeconds)]
                ),
                on: channel
            )
        }
        let grants: [SyncAudience]
        do {
            grants = try await directory.readGrants(of: Array(assignments))
        } catch {
            hub.release(.socket, sessionId: sessionId, accountId: accountId)
            throw error
        }
        return .upgrade([:]) { inbound, outbound, _ in
            defer { hub.release(.socket, sessionId: sessionId, accountId: accountId) }
            try await serve(tokenHash: tokenHash, assignments: assignments, grants: grants, inbound: inbound, outbound: outbound)
        }
    }

    /// Answers a refused upgrade with the API's error body and closes the connection.
    func refuse(_ error: APIError, on channel: any Channel) -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        let body =
            (try? JSONEncoder().encode(APIError.ErrorBody(error: .init(code: error.code, message: error.message, field: error.field))))
            ?? Data(#"{"error":{"code":"internal_error","message":"error"}}"#.utf8)
        var headers = HTTPHeaders()
        for field in error.headers { headers.add(name: field.name.rawName, value: field.value) }
        headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(
            version: .http1_1,
            status: HTTPResponseStatus(statusCode: Int(error.status.code), reasonPhrase: error.status.reasonPhrase),
            headers: headers
        )
        channel.write(HTTPServerResponsePart.head(head), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in channel.close(mode: .all, promise: nil) }
        return .dontUpgrade
    }

    func serve(
        tokenHash: String,
        assignments: Set<RoleAssignment>,
        grants: [SyncAudience],
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter
    ) async throws {
        let (id, subscription) = hub.watcher.subscribe()
        defer { hub.watcher.unsubscribe(id) }
        let start = try await database.sync.state().lastVersion
        try await outbound.write(.text(#"{"type":"hello","version":\#(start)}"#))
        /// Whether the socket may go on; closes it (with its code) when not.
        @Sendable func stillServed() async throws -> Bool {
            switch await hub.verify(tokenHash: tokenHash) {
            case .unknown:
                return true
            case .alive(_, _, let held):
                if held == assignments { return true }
                try await outbound.close(.unknown(CloseCode.grantsChanged.rawValue), reason: "grants_changed")
            case .ended(let code):
                try await outbound.close(.unknown(CloseCode.sessionEnded.rawValue), reason: code)
            }
            return false
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The device's messages are not needed; the loop ends when it goes away.
            group.addTask {
                for try await _ in inbound.messages(maxSize: 4_096) {}
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(25))
                    guard try await stillServed() else { return }
                    try await outbound.write(.text(#"{"type":"ping"}"#))
                }
            }
            group.addTask {
                var seen = start
                for await _ in subscription.signals {
                    // Poke only when something this device may read changed — decided from the
                    // watcher's one read, no query per socket — and its session still holds.
                    guard let batch = subscription.take(), batch.version > seen else { continue }
                    seen = batch.version
                    guard batch.concerns(grants) else { continue }
                    guard try await stillServed() else { return }
                    try await outbound.write(.text(#"{"type":"poke","version":\#(batch.version)}"#))
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
