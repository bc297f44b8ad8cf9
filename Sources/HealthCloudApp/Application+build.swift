import HTTPTypes
import Hummingbird
import HealthCloudStorage
import Logging
import NIOCore
import ServiceLifecycle

/// What the executable (or a test) plugs into the application's start.
public struct AppHooks: Sendable {
    /// Runs after migrations and before the server accepts connections (e.g. the demo fill).
    public var prepare: @Sendable (AppDatabase) async throws -> Void
    /// Runs once the server listens, with the port it got.
    public var onServerRunning: @Sendable (_ port: Int) async -> Void

    public init(
        prepare: @escaping @Sendable (AppDatabase) async throws -> Void = { _ in },
        onServerRunning: @escaping @Sendable (_ port: Int) async -> Void = { _ in }
    ) {
        self.prepare = prepare
        self.onServerRunning = onServerRunning
    }
}

/// The composition root: opens storage, wires every feature's routes and middleware, and
/// returns the runnable application with its services (the PostgreSQL pool when on PostgreSQL).
public func buildApplication(
    _ configuration: AppConfiguration,
    logger: Logger = Logger(label: "healthcloud"),
    hooks: AppHooks = AppHooks()
) throws -> some ApplicationProtocol {
    var logger = logger
    logger.logLevel = configuration.logLevel
    let database = AppDatabase(try configuration.database.open(logger: logger))
    let router = buildRouter(configuration, database: database)

    var app = Application(
        router: router,
        configuration: .init(
            address: .hostname(configuration.hostname, port: configuration.port),
            serverName: "HealthCloud-BFF"
        ),
        services: [DatabaseCloser(database: database.database)],
        onServerRunning: { channel in
            await hooks.onServerRunning(channel.localAddress?.port ?? configuration.port)
        },
        logger: logger
    )
    if let service = database.database as? any Service {
        app.addServices(service)
    }
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

/// The router with every feature's routes. Separate from ``buildApplication`` so tests can
/// drive it in process (`app.test(.router)`) as well as over a live socket.
public func buildRouter(_ configuration: AppConfiguration, database: AppDatabase) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    // Outermost first: id and access log, metrics of what was really sent, error shaping, body limit.
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: BodyLimitMiddleware(limit: configuration.maxBodySize))

    OperationsController(database: database, registry: PrometheusMetrics.registry).addRoutes(to: router)
    let api = router.group("api/v1")
    OrganisationsController(repository: database.organisations).addRoutes(to: api)

    answerUnsupportedMethods(on: router)
    return router
}

/// A known path asked with a method it does not support answers 405 with `Allow`
/// (RFC 9110 §15.5.6), not 404: the client's mistake is the method, not the path.
func answerUnsupportedMethods(on router: Router<AppRequestContext>) {
    let candidates: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .options, .trace, HTTPRequest.Method("QUERY")!]
    var methodsByPath: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
    for route in router.routes {
        methodsByPath[route.path.description, default: (route.path, [])].methods.insert(route.method)
    }
    for (_, entry) in methodsByPath {
        var allowed = entry.methods
        if allowed.contains(.get) { allowed.insert(.head) }
        let allowHeader = allowed.map(\.rawValue).sorted().joined(separator: ", ")
        for method in candidates where !allowed.contains(method) {
            router.on(entry.path, method: method) { request, _ -> Response in
                throw APIError(
                    .methodNotAllowed, code: "method_not_allowed",
                    message: "\(request.method) is not supported on \(request.uri.path); use \(allowHeader).",
                    headers: [.allow: allowHeader]
                )
            }
        }
    }
}

/// Closes the database after every other service (it is first in the list, so stopped last).
struct DatabaseCloser: Service {
    let database: any Database

    func run() async throws {
        try? await gracefulShutdown()
        await database.close()
    }
}
