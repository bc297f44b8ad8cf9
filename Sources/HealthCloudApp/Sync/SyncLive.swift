import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Synchronization

/// Watches the sync log's version counter — in the shared database, so it sees commits of
/// every server instance — and tells the live connections when it moves.
final class SyncWatcher: Service, Sendable {
    let sync: SyncLog
    let interval: Duration
    private let listeners = Mutex<[UUID: AsyncStream<Int64>.Continuation]>([:])

    init(sync: SyncLog, interval: Duration = .milliseconds(250)) {
        self.sync = sync
        self.interval = interval
    }

    /// A stream of new high-water versions (only the latest matters: it buffers one).
    func subscribe() -> (UUID, AsyncStream<Int64>) {
        let (stream, continuation) = AsyncStream<Int64>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let id = UUID()
        listeners.withLock { $0[id] = continuation }
        return (id, stream)
    }

    func unsubscribe(_ id: UUID) {
        listeners.withLock { $0.removeValue(forKey: id) }?.finish()
    }

    private let last = Mutex<Int64>(0)

    /// Tells the listeners when the counter moved past what they were last told.
    private func check() async {
        guard let current = try? await sync.state().lastVersion else { return }
        let moved = last.withLock { last in
            guard current > last else { return false }
            last = current
            return true
        }
        guard moved else { return }
        for continuation in listeners.withLock({ Array($0.values) }) { continuation.yield(current) }
    }

    func run() async throws {
        let initial = (try? await sync.state().lastVersion) ?? 0
        last.withLock { $0 = initial }
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
            for continuation in listeners.values { continuation.finish() }
            listeners.removeAll()
        }
    }
}

/// `GET /api/v1/sync/live`: a WebSocket (mini-programs: `wx.connectSocket` with the bearer
/// token in its `header`) that pokes the device when a change it may read commits, so it pulls
/// at once instead of polling (SyncProtocol/SPEC.md §7). A poke carries no data.
struct SyncLive: Sendable {
    let database: AppDatabase
    let directory: ScopeDirectory
    let watcher: SyncWatcher
    let clock: AppClock
    static let path = "/api/v1/sync/live"

    /// Upgrades a valid bearer on the live path; anything else goes to the router (which
    /// answers 401 without a token, and 400 to a plain GET).
    func shouldUpgrade(_ request: HTTPRequest) async throws -> ShouldUpgradeResult<WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>> {
        guard request.path?.split(separator: "?").first.map(String.init) == Self.path,
              let header = request.headerFields[.authorization], header.lowercased().hasPrefix("bearer ")
        else { return .dontUpgrade }
        let token = String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        let now = clock.seconds
        // The same checks as any request (expiry, revocation, idle time); anything wrong → the
        // router answers, with its distinct 401.
        guard let (lookup, stored) = try await database.identity.lookupAccess(tokenHash: DataProtection.tokenHash(token)),
              lookup.tokenExpiresAt > now, (try? IdentityService.checkSessionAlive(lookup.session, now: now)) != nil
        else { return .dontUpgrade }
        let audience = try await SyncController.grants(of: stored.filter(\.intact).map(\.assignment), directory: directory)
        return .upgrade([:]) { inbound, outbound, _ in
            try await serve(grants: audience, inbound: inbound, outbound: outbound)
        }
    }

    func serve(grants: [SyncAudience], inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let start = try await database.sync.state().lastVersion
        try await outbound.write(.text(#"{"type":"hello","version":\#(start)}"#))
        let (id, versions) = watcher.subscribe()
        defer { watcher.unsubscribe(id) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // The device's messages are not needed; the loop ends when it goes away.
            group.addTask {
                for try await _ in inbound.messages(maxSize: 4_096) {}
            }
            group.addTask {
                while !Task.isCancelled {
                    try await Task.sleep(for: .seconds(25))
                    try await outbound.write(.text(#"{"type":"ping"}"#))
                }
            }
            group.addTask {
                var seen = start
                for await version in versions where version > seen {
                    // Poke only when something this device may read changed.
                    let page = try await database.sync.page(grants: grants, after: seen, snapshot: false, limit: 1, maxBytes: 1)
                    seen = version
                    if !page.records.isEmpty {
                        try await outbound.write(.text(#"{"type":"poke","version":\#(version)}"#))
                    }
                }
            }
            try await group.next()
            group.cancelAll()
        }
    }
}
