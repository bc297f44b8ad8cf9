import Foundation
import HTTPTypes
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import Hummingbird
import Logging

/// Offline-first sync (SyncProtocol/SPEC.md): delta pull of the records the caller may read,
/// in signed checkpoint pages, and push of named domain mutations, exactly once per client.
struct SyncController {
    let database: AppDatabase
    let directory: ScopeDirectory
    let clock: AppClock
    let cockpit: CockpitCache
    let homes: CockpitService
    let mutations: SyncMutations
    /// Long polls wait on the live side's watcher (and count against its caps).
    let live: SyncLiveHub
    /// Largest page of `changes` in bytes (besides the count limit).
    static let maxPageBytes = 256 * 1024

    func addRoutes(to api: Routes) {
        api.post("sync/pull", .authenticated, use: pull)
        api.post("sync/push", .authenticated, use: push)
        api.get("sync/live", .authenticated, use: liveWithoutUpgrade)
    }

    static func validate(clientId: String) throws {
        guard (8...64).contains(clientId.count),
            clientId.unicodeScalars.allSatisfy({
                ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
            })
        else { throw APIError(.badRequest, code: "invalid_field", message: "clientId must be 8–64 of A–Z, a–z, 0–9, '-' or '_'.", field: "clientId") }
    }

    static func negotiate(protocolVersion: Int, schemaVersion: Int?) throws {
        guard protocolVersion >= 1 else {
            throw APIError(.badRequest, code: "invalid_field", message: "protocolVersion starts at 1.", field: "protocolVersion")
        }
        if let schemaVersion, schemaVersion < 1 {
            throw APIError(.badRequest, code: "invalid_field", message: "schemaVersion starts at 1.", field: "schemaVersion")
        }
        guard SyncVersion.supportedProtocolVersions.contains(protocolVersion), (schemaVersion ?? 1) <= SyncVersion.schemaVersion else {
            throw APIError(
                .init(code: 426, reasonPhrase: "Upgrade Required"),
                code: "upgrade_required",
                message: "This server speaks sync protocol \(SyncVersion.supportedProtocolVersions.map(String.init).joined(separator: ", ")) "
                    + "and schema up to \(SyncVersion.schemaVersion)."
            )
        }
    }

    /// What the caller may read: each intact role assignment's partitions, and its own device's
    /// records (bound to this account).
    func grants(of identity: Identity, clientId: String) async throws -> [SyncAudience] {
        (try await Self.grants(of: identity.assignments, directory: directory) + [.client(clientId, accountId: identity.accountId)]).sorted()
    }

    /// The partitions of the assignments: what pulls and live pokes filter by, decided by the
    /// rule REST's scope checks use (``ScopeDirectory/readGrants(of:)``).
    static func grants(of assignments: [RoleAssignment], directory: ScopeDirectory) async throws -> [SyncAudience] {
        try await directory.readGrants(of: assignments)
    }

    static func grantsDigest(_ grants: [SyncAudience]) -> String {
        String(Hex.encode(SM3.hash(Array(grants.map { "\($0.role) \($0.path)" }.joined(separator: "\n").utf8))).prefix(16))
    }

    /// The live route only speaks WebSocket (the upgrade is answered before the router).
    @Sendable func liveWithoutUpgrade(_ request: Request, context: AppRequestContext) async throws -> Response {
        throw APIError(
            .badRequest,
            code: "websocket_required",
            message:
                "GET /api/v1/sync/live is a WebSocket: send Connection: Upgrade and Upgrade: websocket, or long-poll POST /api/v1/sync/pull with waitSeconds."
        )
    }

    // MARK: Pull

    @Sendable func pull(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(PullRequest.self, from: request, context: context)
        try Self.negotiate(protocolVersion: body.protocolVersion, schemaVersion: body.schemaVersion)
        try Self.validate(clientId: body.clientId)
        let limit = body.limit ?? 500
        guard (1...1000).contains(limit) else { throw APIError(.badRequest, code: "invalid_field", message: "limit must be 1–1000.", field: "limit") }
        let wait = body.waitSeconds ?? 0
        guard (0...25).contains(wait) else {
            throw APIError(.badRequest, code: "invalid_field", message: "waitSeconds must be 0–25.", field: "waitSeconds")
        }

        try await publishHomes(of: identity)
        let grants = try await grants(of: identity, clientId: body.clientId)
        let digest = Self.grantsDigest(grants)
        let state = try await database.sync.state()
        // A first sync, an unreadable cursor, another history (epoch), other grants, another
        // schema, a cursor past the tombstone horizon or beyond the high-water mark: a fresh
        // snapshot, announced (never a silent replay, nor a silent skip).
        var after: Int64 = 0
        var reset = true
        var mark: Int64?
        if let token = body.cursor, let cursor = SyncCursor(token: token), cursor.e == state.epoch, cursor.g == digest,
            cursor.s == SyncVersion.schemaVersion, cursor.n >= state.purgedThrough
        {
            if max(cursor.n, cursor.m ?? 0) <= state.lastVersion {
                after = cursor.n
                mark = cursor.m
                reset = false
            } else {
                // Versions this history never issued: the database went back (a restore without a new epoch).
                context.logger.warning(
                    "sync cursor beyond the high-water mark: run `healthcloud sync new-epoch` after a restore",
                    metadata: ["cursor": "\(cursor.n)", "highWater": "\(state.lastVersion)"]
                )
            }
        }
        var page = try await database.sync.page(
            grants: grants,
            after: after,
            snapshot: reset,
            tombstonesAbove: mark ?? 0,
            limit: limit,
            maxBytes: Self.maxPageBytes
        )
        if page.records.isEmpty && !reset && wait > 0 {
            // Long poll: wait on the watcher (one read per commit for every waiting request, and
            // it sees commits of every instance), then read the page once.
            let since = page.cursor
            page =
                try await live.longPoll(identity: identity, grants: grants, since: since, seconds: wait) {
                    try await database.sync.page(
                        grants: grants,
                        after: after,
                        snapshot: false,
                        tombstonesAbove: mark ?? 0,
                        limit: limit,
                        maxBytes: Self.maxPageBytes
                    )
                } ?? page
        }
        let changes = try page.records.map { record in
            Change(
                collection: record.collection,
                id: record.id,
                op: record.deleted ? .delete : .upsert,
                version: record.version,
                data: try record.data.map { try JSONTree.parse($0.utf8, maxDepth: JSONTree.storedMaxDepth) } ?? .null
            )
        }
        // A snapshot's later pages carry its starting mark until they pass it (SPEC.md §3.2).
        if reset { mark = page.highWater }
        let cursor = SyncCursor(
            version: page.cursor,
            grants: digest,
            epoch: state.epoch,
            snapshotMark: mark.flatMap { $0 > page.cursor ? $0 : nil }
        ).token
        let lastMutationId = try await database.sync.lastMutationId(clientId: body.clientId, accountId: identity.accountId)
        let pageDigest = PageDigest.digest(changes: changes, cursor: cursor, lastMutationId: lastMutationId, reset: reset)
        let keys = database.protection.keys
        let signature = try keys.signingKey.signature(for: PageDigest.signedMessage(digest: pageDigest))
        let json = Array(
            try JSONResponse.encoder.encode(
                PullResponse(
                    cursor: cursor,
                    reset: reset,
                    changes: changes,
                    hasMore: page.hasMore,
                    lastMutationId: lastMutationId,
                    checkpoint: Checkpoint(digest: pageDigest, kid: keys.signingKeyID, signature: Base64URL.encode(signature))
                )
            )
        )
        // Pages are mostly repetitive JSON: a phone on a weak network asks for gzip.
        if json.count > 1_024, Gzip.accepted(by: request.headers[.acceptEncoding]), let compressed = Gzip.compress(json) {
            return JSONResponse.bytes(compressed, headers: [.contentEncoding: "gzip", .vary: "Accept-Encoding"])
        }
        return JSONResponse.bytes(json, headers: [.vary: "Accept-Encoding"])
    }

    /// `cockpitHome`: a leader's home payload as one record, so the cockpit opens offline. It is
    /// brought up to date when a leader of that scope pulls (the payload comes from the
    /// cockpit's cache), and written only when it changed.
    func publishHomes(of identity: Identity) async throws {
        for assignment in identity.assignments where assignment.role == .leader {
            switch assignment.scope {
            case .city, .district, .campus: break
            default: continue
            }
            let scope = assignment.scope
            guard let rankBy = Metrics.named(CockpitService.defaultRanking) else { continue }
            let body = try await homes.cachedHome(
                scope: scope,
                date: nil,
                rankBy: rankBy,
                cache: cockpit,
                yesterday: Day(shanghaiTimeOf: clock.seconds) - 1
            )
            let data = try JSONTree.parse(body.json, maxDepth: JSONTree.storedMaxDepth).decimalsAsStrings
            guard let path = SyncAudience.path(of: try await directory.path(of: scope)) else { continue }
            let now = clock.seconds
            try await database.sync.putIfChanged(
                .init(
                    collection: SyncCollection.cockpitHome.name,
                    id: scope.description,
                    audience: SyncAudience(role: "leader", path: path),
                    data: data
                ),
                now: now
            )
        }
    }

    // MARK: Push

    @Sendable func push(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(PushRequest.self, from: request, context: context)
        try Self.negotiate(protocolVersion: body.protocolVersion, schemaVersion: nil)
        try Self.validate(clientId: body.clientId)
        guard (1...100).contains(body.mutations.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "A push carries 1–100 mutations.", field: "mutations")
        }
        for (index, mutation) in body.mutations.enumerated() {
            guard mutation.id >= 1 else {
                throw APIError(.badRequest, code: "invalid_field", message: "Mutation ids are positive integers.", field: "mutations[\(index)].id")
            }
            if index > 0, mutation.id <= body.mutations[index - 1].id {
                throw APIError(
                    .badRequest,
                    code: "invalid_field",
                    message: "Mutation ids must increase within a push.",
                    field: "mutations[\(index)].id"
                )
            }
        }
        let stored = try await database.sync.storedResults(clientId: body.clientId, accountId: identity.accountId, ids: body.mutations.map(\.id))
        for (index, mutation) in body.mutations.enumerated() {
            if let previous = stored[mutation.id], previous.bodyDigest != mutation.bodyDigest {
                throw APIError(
                    .conflict,
                    code: "mutation_id_reused",
                    message: "Mutation \(mutation.id) was pushed before with a different body; nothing in this push was applied.",
                    field: "mutations[\(index)]"
                )
            }
        }
        var lastApplied = try await database.sync.lastMutationId(clientId: body.clientId, accountId: identity.accountId)
        var results: [MutationResult] = []
        for mutation in body.mutations {
            if let previous = stored[mutation.id] {
                results.append(
                    MutationResult(
                        id: mutation.id,
                        status: MutationResult.Status(rawValue: previous.status) ?? .rejected,
                        code: previous.code,
                        message: previous.message
                    )
                )
                continue
            }
            if mutation.id <= lastApplied {
                results.append(
                    MutationResult(
                        id: mutation.id,
                        status: .rejected,
                        code: "mutation_out_of_order",
                        message: "Mutation \(mutation.id) is at or below the last one applied (\(lastApplied)) and was never seen."
                    )
                )
                continue
            }
            let result = await mutations.run(mutation, clientId: body.clientId, identity: identity, context: context)
            results.append(result)
            if result.status == .retry { break }
            lastApplied = mutation.id
        }
        cockpit.invalidate()
        return try JSONResponse.encode(PushResponse(results: results))
    }
}
