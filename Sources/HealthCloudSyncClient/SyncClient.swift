import Foundation
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudSync

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where the access token comes from, and how to get a new one when it expires mid-sync.
public protocol SyncAuthenticator: Sendable {
    func accessToken() async throws -> String
    /// Refreshes the token after a `token_expired`; false when the user must sign in again.
    func refresh() async throws -> Bool
}

public enum SyncClientError: Error, Equatable, CustomStringConvertible {
    /// The session is over (refresh refused, or a second 401 after refreshing).
    case signInRequired
    /// The server speaks a newer protocol or schema than this build.
    case upgradeRequired
    /// A page whose digest or signature does not hold, three times in a row.
    case checkpointInvalid
    case server(status: Int, code: String, message: String)
    case transport(String)

    public var description: String {
        switch self {
        case .signInRequired: "sign in again"
        case .upgradeRequired: "update the app"
        case .checkpointInvalid: "the server's pages do not verify"
        case .server(let status, let code, let message): "\(status) \(code): \(message)"
        case .transport(let message): message
        }
    }
}

/// How requests reach the server: URLSession by default; tests put an unreliable network here.
public protocol SyncTransport: Sendable {
    func send(_ request: URLRequest) async throws -> (Data, URLResponse)
}

public struct URLSessionTransport: SyncTransport {
    let session: URLSession

    public init(session: URLSession = .shared) {
        self.session = session
    }

    public func send(_ request: URLRequest) async throws -> (Data, URLResponse) {
        try await session.data(for: request)
    }
}

/// What a mutation does to the local view before the server confirms it (optimistic apply).
/// Applied to the pulled state on every read, for every mutation still in the outbox — that
/// is the rebase: new server state underneath, the user's pending intent on top.
public typealias LocalMutator = @Sendable (_ args: JSONValue, _ records: inout [String: [String: JSONValue]]) -> Void

/// The device's sync engine: pushes the outbox, pulls verified pages into the local store,
/// resets when told, refreshes an expired token once, and keeps going after a refused mutation.
public actor SyncClient {
    public struct Configuration: Sendable {
        public var baseURL: URL
        public var clientId: String
        public var pageLimit: Int
        public var pushBatch: Int
        /// Seconds one request may take (a long poll adds its wait).
        public var requestTimeout: TimeInterval

        public init(baseURL: URL, clientId: String, pageLimit: Int = 500, pushBatch: Int = 100, requestTimeout: TimeInterval = 60) {
            self.baseURL = baseURL
            self.clientId = clientId
            self.pageLimit = pageLimit
            self.pushBatch = pushBatch
            self.requestTimeout = requestTimeout
        }
    }

    public let configuration: Configuration
    public let store: LocalStore
    let authenticator: any SyncAuthenticator
    let transport: any SyncTransport
    var keys: [String: SM2PublicKey] = [:]
    var mutators: [String: LocalMutator] = [:]
    var observers: [String: [UUID: AsyncStream<[String: JSONValue]>.Continuation]] = [:]

    public init(
        configuration: Configuration,
        store: LocalStore,
        authenticator: any SyncAuthenticator,
        transport: any SyncTransport = URLSessionTransport()
    ) {
        self.configuration = configuration
        self.store = store
        self.authenticator = authenticator
        self.transport = transport
    }

    // MARK: The feature-facing API

    public func register(_ name: String, mutator: @escaping LocalMutator) {
        mutators[name] = mutator
    }

    /// Queues a mutation (it survives restarts) and shows its effect locally at once.
    @discardableResult
    public func mutate(_ name: String, args: JSONValue) async throws -> Int64 {
        let id = try await store.enqueue(name: name, args: args)
        try await notifyObservers()
        return id
    }

    /// A collection as the user should see it: the pulled state with pending mutations on top.
    public func records(_ collection: String) async throws -> [String: JSONValue] {
        try await view()[collection] ?? [:]
    }

    func view() async throws -> [String: [String: JSONValue]] {
        var records: [String: [String: JSONValue]] = [:]
        for collection in try await store.collections() { records[collection] = try await store.records(collection) }
        for mutation in try await store.pending() { mutators[mutation.name]?(mutation.args, &records) }
        return records
    }

    /// The collection now and after every change.
    public func observe(_ collection: String) -> AsyncStream<[String: JSONValue]> {
        let (stream, continuation) = AsyncStream<[String: JSONValue]>.makeStream()
        let id = UUID()
        observers[collection, default: [:]][id] = continuation
        continuation.onTermination = { [weak self] _ in Task { await self?.removeObserver(collection, id) } }
        Task { if let records = try? await self.records(collection) { continuation.yield(records) } }
        return stream
    }

    private func removeObserver(_ collection: String, _ id: UUID) {
        observers[collection]?[id] = nil
    }

    private func notifyObservers() async throws {
        guard !observers.isEmpty else { return }
        let view = try await view()
        for (collection, continuations) in observers {
            for continuation in continuations.values { continuation.yield(view[collection] ?? [:]) }
        }
    }

    // MARK: Syncing

    public struct Report: Sendable, Equatable {
        public var pushed = 0
        public var rejected = 0
        public var pages = 0
        public var changes = 0
        public var resets = 0
    }

    /// Pushes the outbox, then pulls until the server has nothing more.
    @discardableResult
    public func sync(waitSeconds: Int = 0) async throws -> Report {
        var report = Report()
        try await push(into: &report)
        try await pull(into: &report, waitSeconds: waitSeconds)
        return report
    }

    /// Keeps the device current until cancelled: pushes what is queued and long-polls for
    /// changes (the server answers as soon as one the device may read commits). Network errors
    /// back off and retry; a session that is over ends the loop.
    public func runLive(waitSeconds: Int = 25) async throws {
        var backoff: Duration = .milliseconds(500)
        while !Task.isCancelled {
            do {
                try await sync(waitSeconds: waitSeconds)
                backoff = .milliseconds(500)
            } catch SyncClientError.transport {
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(30))
            }
        }
    }

    func push(into report: inout Report) async throws {
        while true {
            let batch = Array(try await store.unsent().prefix(configuration.pushBatch))
            guard !batch.isEmpty else { return }
            let request = PushRequest(clientId: configuration.clientId, mutations: batch.map { Mutation(id: $0.id, name: $0.name, args: $0.args) })
            let response: PushResponse = try await call("api/v1/sync/push", request)
            try await store.record(response.results, for: batch)
            report.pushed += response.results.filter { $0.status == .applied }.count
            report.rejected += response.results.filter { $0.status == .rejected }.count
            // Retry: the server is struggling; try later. Everything answered: the next batch.
            if response.results.contains(where: { $0.status == .retry }) || response.results.count < batch.count { return }
        }
    }

    func pull(into report: inout Report, waitSeconds: Int) async throws {
        var failures = 0
        var wait = waitSeconds
        while true {
            let request = PullRequest(
                clientId: configuration.clientId,
                cursor: try await store.cursor,
                limit: configuration.pageLimit,
                waitSeconds: wait > 0 ? wait : nil
            )
            let page: PullResponse = try await call("api/v1/sync/pull", request)
            guard try await verify(page) else {
                failures += 1
                if failures >= 3 { throw SyncClientError.checkpointInvalid }
                continue
            }
            // Three failures in a row stop the loop (SPEC.md §6): a page that verifies starts the count again.
            failures = 0
            try await store.apply(page)
            report.pages += 1
            report.changes += page.changes.count
            if page.reset { report.resets += 1 }
            if !page.changes.isEmpty || page.reset { try await notifyObservers() }
            if !page.hasMore { return }
            wait = 0
        }
    }

    /// Checks the page's digest and signature with the server's published key (fetched once,
    /// and again when a page names a key not seen yet).
    func verify(_ page: PullResponse) async throws -> Bool {
        if keys[page.checkpoint.kid] == nil { try await loadKeys() }
        guard let key = keys[page.checkpoint.kid] else { return false }
        return PageDigest.verify(page, publicKey: key)
    }

    struct KeySet: Decodable {
        struct Key: Decodable {
            var kid: String
            var publicKeyPem: String
        }

        var keys: [Key]
    }

    func loadKeys() async throws {
        var request = URLRequest(url: configuration.baseURL.appendingPathComponent("api/v1/keys"))
        request.timeoutInterval = configuration.requestTimeout
        let (data, response) = try await send(request)
        guard (response as? HTTPURLResponse)?.statusCode == 200 else { throw SyncClientError.transport("GET /api/v1/keys failed") }
        for key in try JSONDecoder().decode(KeySet.self, from: data).keys {
            keys[key.kid] = try SM2PublicKey(pemRepresentation: key.publicKeyPem)
        }
    }

    // MARK: HTTP

    struct ErrorBody: Decodable {
        struct Detail: Decodable {
            var code: String
            var message: String
        }

        var error: Detail
    }

    func send(_ request: URLRequest) async throws -> (Data, URLResponse) {
        do {
            return try await transport.send(request)
        } catch {
            throw SyncClientError.transport("\(error)")
        }
    }

    /// POSTs JSON with the bearer token; an expired token is refreshed once and the call
    /// repeated (no 401 loops).
    func call<Body: Encodable, Answer: Decodable>(_ path: String, _ body: Body) async throws -> Answer {
        var refreshed = false
        while true {
            var request = URLRequest(url: configuration.baseURL.appendingPathComponent(path))
            request.httpMethod = "POST"
            request.timeoutInterval = configuration.requestTimeout + 30
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
            request.setValue("Bearer \(try await authenticator.accessToken())", forHTTPHeaderField: "Authorization")
            request.httpBody = try JSONEncoder().encode(body)
            let (data, response) = try await send(request)
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            if status == 200 { return try JSONDecoder().decode(Answer.self, from: data) }
            let error = try? JSONDecoder().decode(ErrorBody.self, from: data).error
            switch status {
            case 401 where error?.code == "token_expired" && !refreshed:
                refreshed = true
                guard try await authenticator.refresh() else { throw SyncClientError.signInRequired }
            case 401:
                throw SyncClientError.signInRequired
            case 426:
                throw SyncClientError.upgradeRequired
            default:
                throw SyncClientError.server(status: status, code: error?.code ?? "http_\(status)", message: error?.message ?? "")
            }
        }
    }
}
