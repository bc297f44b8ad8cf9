import HTTPTypes
import HealthCloudCrypto
import HealthCloudStorage
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// What the executable (or a test) plugs into the application's start.
public struct AppHooks: Sendable {
    /// Runs after migrations and before the server accepts connections (e.g. the demo fill).
    public var prepare: @Sendable (AppDatabase) async throws -> Void
    /// Runs once the server listens, with the port it got.
    public var onServerRunning: @Sendable (_ port: Int) async -> Void
    /// Counts what the live side of sync asks the database (tests, benchmarks).
    public var syncLiveCounters: SyncLiveCounters

    public init(
        prepare: @escaping @Sendable (AppDatabase) async throws -> Void = { _ in },
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in },
        syncLiveCounters: SyncLiveCounters = SyncLiveCounters()
    ) {
        self.prepare = prepare
        self.onServerRunning = onServerRunning
        self.syncLiveCounters = syncLiveCounters
    }
}

/// The collaborators every feature draws on; the parts that cannot exist here (an SMS
/// gateway) and the clock are pluggable.
public struct AppDependencies: Sendable {
    public var database: AppDatabase
    public var clock: AppClock
    public var sms: any SMSSender
    /// The real-name verification source; nil: the dev register in demo mode, else none.
    public var verifier: (any IdentityVerifier)?
    /// Authorization refusals, audited per caller and burst.
    let refusals: RefusalAudit
    /// The live side of sync (watcher, caps, session memory) shared with the socket upgrade; nil: the router's own.
    var live: SyncLiveHub?
    /// The one scope directory (its cache serves the router, the socket upgrade and every command).
    let directory: ScopeDirectory
    /// The one cockpit service and its cache (REST, the sync `cockpitHome` records, invalidated by every command that changes figures).
    let cockpitService: CockpitService
    let cockpitCache = CockpitCache()

    public init(database: AppDatabase, clock: AppClock = .system, sms: any SMSSender, verifier: (any IdentityVerifier)? = nil) {
        self.database = database
        self.clock = clock
        self.sms = sms
        self.verifier = verifier
        refusals = RefusalAudit(log: database.audit, clock: clock)
        directory = ScopeDirectory(database: database)
        cockpitService = CockpitService(database: database)
    }
}

/// The composition root: opens storage, wires every feature's routes and middleware, and
/// returns the runnable application with its services (the PostgreSQL pool when on PostgreSQL).
public func buildApplication(
    _ configuration: AppConfiguration,
    keys: KeyMaterial,
    logger: Logger = Logger(label: "healthcloud"),
    clock: AppClock = .system,
    sms: (any SMSSender)? = nil,
    hooks: AppHooks = AppHooks()
) throws -> some ApplicationProtocol {
    var logger = logger
    logger.logLevel = configuration.logLevel
    let database = try AppDatabase.open(configuration.database, logger: logger, keys: keys)
    var dependencies = AppDependencies(
        database: database,
        clock: clock,
        sms: sms ?? (configuration.demo ? DevSMSSink() : UnconfiguredSMSSender())
    )
    let hub = SyncLiveHub(database: database, clock: clock, configuration: configuration, counters: hooks.syncLiveCounters)
    dependencies.live = hub
    let (router, _, features) = try buildRouterAndFeatures(configuration, dependencies: dependencies)
    let live = SyncLive(database: database, directory: dependencies.directory, hub: hub, clock: clock)

    var app = Application(
        router: router,
        server: .http1WebSocketUpgrade(limits: configuration.connectionLimits) { request, channel, _ in
            try await live.shouldUpgrade(request, channel: channel)
        },
        configuration: .init(
            address: .hostname(configuration.hostname, port: configuration.port),
            serverName: "HealthCloud-BFF"
        ),
        services: [DatabaseCloser(database: database)],
        onServerRunning: { channel in
            await hooks.onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
    app.addServices(database.services)
    app.addServices(hub.watcher)
    for feature in features { app.addServices(feature.services(logger: logger)) }
    let startLogger = logger
    app.beforeServerStarts {
        let applied = try await database.migrate()
        if !applied.isEmpty {
            startLogger.info("migrations applied", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))])
        }
        try await hooks.prepare(database)
    }
    return app
}

/// The router with every feature's routes, and the access declaration of each. Separate
/// from ``buildApplication`` so tests drive it in process as well as over a socket.
public func buildRouter(
    _ configuration: AppConfiguration,
    dependencies: AppDependencies
) throws -> (Router<AppRequestContext>, AccessRegistry) {
    let (router, registry, _) = try buildRouterAndFeatures(configuration, dependencies: dependencies)
    return (router, registry)
}

/// The middleware every request passes, then each feature's routes (``Features/all(_:)``, and
/// sync over all of them); returns the features too, for their background services.
func buildRouterAndFeatures(
    _ configuration: AppConfiguration,
    dependencies: AppDependencies
) throws -> (Router<AppRequestContext>, AccessRegistry, [any Feature]) {
    let database = dependencies.database
    let clock = dependencies.clock
    let audit = AuditTrail(log: database.audit, clock: clock)
    let registry = AccessRegistry()
    let live = dependencies.live ?? SyncLiveHub(database: database, clock: clock, configuration: configuration)

    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost first: security headers, id and access log, metrics of what was really sent,
    // error shaping, body limit, then each route's declared access.
    router.add(middleware: ResponseHeadersMiddleware())
    router.add(middleware: ClientAddressMiddleware(trusted: configuration.trustedProxies))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodySize))
    router.add(
        middleware: AuthorizationMiddleware(
            registry: registry,
            authenticator: Authenticator(database: database, clock: clock, audit: audit, cache: live.sessions),
            directory: dependencies.directory,
            refusals: dependencies.refusals
        )
    )

    let root = Routes(router: router, prefix: "", registry: registry)
    let api = root.group("api/v1")
    let context = FeatureContext(configuration: configuration, dependencies: dependencies, audit: audit, live: live)
    var features = try Features.all(context)
    features.append(SyncFeature(context, others: features))
    for feature in features { feature.addRoutes(root: root, api: api) }

    answerUnsupportedMethods(on: router, registry: registry)
    return (router, registry, features)
}

/// A known path asked with a method it does not support answers 405 with `Allow`
/// (RFC 9110 §15.5.6), not 404: the client's mistake is the method, not the path.
func answerUnsupportedMethods(on router: Router<AppRequestContext>, registry: AccessRegistry) {
    let candidates: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options, .trace, HTTPRequest.Method("QUERY")!]
    var methodsByPath: [String: Set<HTTPRequest.Method>] = [:]
    for route in router.routes {
        methodsByPath[AccessRegistry.normalize(route.path.description), default: []].insert(route.method)
    }
    let routes = Routes(router: router, prefix: "", registry: registry)
    for (path, methods) in methodsByPath {
        var allowed = methods
        if allowed.contains(.get) { allowed.insert(.head) }
        let allowHeader = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        for method in candidates where !allowed.contains(method) {
            routes.on(path, method, .open) { request, _ in
                throw APIError(
                    .methodNotAllowed,
                    code: "method_not_allowed",
                    message: "\(request.method) is not supported on \(request.uri.path); use \(allowHeader).",
                    headers: [.allow: allowHeader]
                )
            }
        }
    }
}

/// Closes the database after every other service (it is first in the list, so stopped last).
struct DatabaseCloser: Service {
    let database: AppDatabase

    func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }
}
