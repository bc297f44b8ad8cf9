import Foundation
import HealthCloudCrypto
import HealthCloudDomain

/// The versions this build speaks (SPEC.md §8).
public enum SyncVersion {
    public static let protocolVersion = 1
    public static let supportedProtocolVersions = [1]
    /// Bumped when a collection is added or changes shape; older cursors are answered with a reset.
    public static let schemaVersion = 1
}

// MARK: Pull

public struct PullRequest: Codable, Sendable, Equatable {
    public var protocolVersion: Int
    public var schemaVersion: Int
    public var clientId: String
    public var cursor: String?
    public var limit: Int?
    /// Long poll: hold an empty answer up to this many seconds (0–25; 0 answers at once).
    public var waitSeconds: Int?

    public init(
        protocolVersion: Int = SyncVersion.protocolVersion,
        schemaVersion: Int = SyncVersion.schemaVersion,
        clientId: String,
        cursor: String?,
        limit: Int? = nil,
        waitSeconds: Int? = nil
    ) {
        self.protocolVersion = protocolVersion
        self.schemaVersion = schemaVersion
        self.clientId = clientId
        self.cursor = cursor
        self.limit = limit
        self.waitSeconds = waitSeconds
    }
}

public struct Change: Codable, Sendable, Hashable {
    public enum Op: String, Codable, Sendable, Hashable {
        case upsert
        case delete
    }

    public var collection: String
    public var id: String
    public var op: Op
    public var version: Int64
    /// The record (null for a delete).
    public var data: JSONValue

    public init(collection: String, id: String, op: Op, version: Int64, data: JSONValue) {
        self.collection = collection
        self.id = id
        self.op = op
        self.version = version
        self.data = data
    }

    public var jsonValue: JSONValue {
        .object(["collection": .string(collection), "id": .string(id), "op": .string(op.rawValue), "version": .integer(version), "data": data])
    }
}

public struct Checkpoint: Codable, Sendable, Equatable {
    public var digest: String
    public var kid: String
    public var signature: String

    public init(digest: String, kid: String, signature: String) {
        self.digest = digest
        self.kid = kid
        self.signature = signature
    }
}

public struct PullResponse: Codable, Sendable, Equatable {
    public var protocolVersion: Int
    public var schemaVersion: Int
    public var cursor: String
    public var reset: Bool
    public var changes: [Change]
    public var hasMore: Bool
    public var lastMutationId: Int64
    public var checkpoint: Checkpoint

    public init(
        protocolVersion: Int = SyncVersion.protocolVersion,
        schemaVersion: Int = SyncVersion.schemaVersion,
        cursor: String,
        reset: Bool,
        changes: [Change],
        hasMore: Bool,
        lastMutationId: Int64,
        checkpoint: Checkpoint
    ) {
        self.protocolVersion = protocolVersion
        self.schemaVersion = schemaVersion
        self.cursor = cursor
        self.reset = reset
        self.changes = changes
        self.hasMore = hasMore
        self.lastMutationId = lastMutationId
        self.checkpoint = checkpoint
    }
}

// MARK: Push

public struct Mutation: Codable, Sendable, Equatable {
    public var id: Int64
    public var name: String
    public var args: JSONValue

    public init(id: Int64, name: String, args: JSONValue) {
        self.id = id
        self.name = name
        self.args = args
    }

    /// SM3 of the canonical `{name, args}`: a replayed id must carry the same body.
    public var bodyDigest: String {
        Hex.encode(SM3.hash(CanonicalJSON.bytes(.object(["name": .string(name), "args": args]))))
    }
}

public struct PushRequest: Codable, Sendable, Equatable {
    public var protocolVersion: Int
    public var clientId: String
    public var mutations: [Mutation]

    public init(protocolVersion: Int = SyncVersion.protocolVersion, clientId: String, mutations: [Mutation]) {
        self.protocolVersion = protocolVersion
        self.clientId = clientId
        self.mutations = mutations
    }
}

public struct MutationResult: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable {
        case applied
        case rejected
        case retry
    }

    public var id: Int64
    public var status: Status
    public var code: String?
    public var message: String?

    public init(id: Int64, status: Status, code: String? = nil, message: String? = nil) {
        self.id = id
        self.status = status
        self.code = code
        self.message = message
    }
}

public struct PushResponse: Codable, Sendable, Equatable {
    public var results: [MutationResult]

    public init(results: [MutationResult]) {
        self.results = results
    }
}

// MARK: Cursor and checkpoint

/// What a cursor remembers (SPEC.md §2). Opaque to clients: base64url of its JSON.
public struct SyncCursor: Codable, Sendable, Equatable {
    public var v: Int
    /// The highest version applied.
    public var n: Int64
    /// Digest of the grants it was issued for.
    public var g: String
    /// The schema version it was issued for.
    public var s: Int
    /// The history epoch of the change log it counts in (nil: issued before epochs, answered
    /// with a reset once). Versions of another epoch mean nothing here (a restore, a new database).
    public var e: String?
    /// While a reset snapshot is delivered over several pages: the high-water mark when it began.
    /// Later pages may leave out tombstones at or below it (records the device never received).
    public var m: Int64?

    public init(version: Int64, grants: String, schemaVersion: Int = SyncVersion.schemaVersion, epoch: String? = nil, snapshotMark: Int64? = nil) {
        self.v = 1
        self.n = version
        self.g = grants
        self.s = schemaVersion
        self.e = epoch
        self.m = snapshotMark
    }

    public var token: String {
        var members: [String: JSONValue] = ["v": .integer(Int64(v)), "n": .integer(n), "g": .string(g), "s": .integer(Int64(s))]
        if let e { members["e"] = .string(e) }
        if let m { members["m"] = .integer(m) }
        return Base64URL.encode(CanonicalJSON.bytes(.object(members)))
    }

    /// Members this build does not know are ignored (SPEC.md §2): a change an older server
    /// must not ignore changes `v`, which that server answers with a reset.
    public init?(token: String) {
        guard token.count <= 512, let bytes = Base64URL.decode(token),
            let cursor = try? JSONDecoder().decode(SyncCursor.self, from: Data(bytes)), cursor.v == 1, cursor.n >= 0, (cursor.m ?? 0) >= 0
        else { return nil }
        self = cursor
    }
}

public enum PageDigest {
    /// SM3 (hex) of the canonical `{changes, cursor, lastMutationId, reset}` (SPEC.md §6).
    public static func digest(changes: [Change], cursor: String, lastMutationId: Int64, reset: Bool) -> String {
        let page = JSONValue.object([
            "changes": .array(changes.map(\.jsonValue)), "cursor": .string(cursor),
            "lastMutationId": .integer(lastMutationId), "reset": .bool(reset),
        ])
        return Hex.encode(SM3.hash(CanonicalJSON.bytes(page)))
    }

    /// The bytes the server signs: `HCSYNC1:` + the digest.
    public static func signedMessage(digest: String) -> [UInt8] {
        Array("HCSYNC1:\(digest)".utf8)
    }

    /// Whether a page is what the server signed, with the key published under `checkpoint.kid`.
    public static func verify(_ page: PullResponse, publicKey: SM2PublicKey) -> Bool {
        let digest = digest(changes: page.changes, cursor: page.cursor, lastMutationId: page.lastMutationId, reset: page.reset)
        guard digest == page.checkpoint.digest, let signature = Base64URL.decode(page.checkpoint.signature) else { return false }
        return publicKey.isValidSignature(signature, for: signedMessage(digest: digest))
    }
}
