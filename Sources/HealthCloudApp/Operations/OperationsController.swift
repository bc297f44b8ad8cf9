import HealthCloudCrypto
import HealthCloudStorage
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// Liveness, readiness and metrics: what an orchestrator and Prometheus scrape.
struct OperationsController {
    let database: AppDatabase
    let registry: PrometheusCollectorRegistry
    /// The scrape credential (`HEALTHCLOUD_METRICS_TOKEN`); nil hides `/metrics` (404).
    let metricsToken: String?

    func addRoutes(to routes: Routes) {
        routes.get("healthz", .open, use: health)
        routes.get("readyz", .open, use: readiness)
        // `.open` to the session check: Prometheus holds no session, it sends the scrape credential.
        routes.get("metrics", .open, use: metrics)
    }

    /// Liveness: answers without touching anything, so a slow database never gets the process killed.
    @Sendable func health(_ request: Request, context: AppRequestContext) async throws -> Response {
        JSONResponse.bytes(Self.healthBody)
    }

    private static let healthBody = Array(#"{"status":"ok"}"#.utf8)

    struct Readiness: Encodable {
        var status = "ready"
        var database: String
    }

    /// Readiness: the database answers a query.
    @Sendable func readiness(_ request: Request, context: AppRequestContext) async throws -> Response {
        do {
            try await database.ping()
        } catch {
            context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "database_unavailable", message: "The database does not answer.")
        }
        return try JSONResponse.encode(Readiness(database: database.engine.rawValue))
    }

    /// The counters show sign-in failures per route and the traffic of every route, so only the
    /// scraper reads them: `Authorization: Bearer <HEALTHCLOUD_METRICS_TOKEN>`, compared in constant
    /// time. Without a configured token the route answers like an unknown path.
    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let metricsToken else {
            throw APIError(.notFound, code: "not_found", message: "No route for \(request.method) \(request.uri.path).")
        }
        let presented = request.headers[.authorization].flatMap { value -> Substring? in
            value.count > 7 && value.prefix(7).lowercased() == "bearer " ? value.dropFirst(7) : nil
        }
        guard let presented, constantTimeEquals(Array(presented.utf8), Array(metricsToken.utf8)) else {
            throw APIError(
                .unauthorized,
                code: "metrics_credential_required",
                message: "Scrape /metrics with Authorization: Bearer and the configured metrics token.",
                headers: [.wwwAuthenticate: #"Bearer realm="metrics""#]
            )
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 * 1024)
        registry.emit(into: &bytes)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
