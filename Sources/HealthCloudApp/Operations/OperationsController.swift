import Hummingbird
import HealthCloudStorage
import Logging
import NIOCore
import Prometheus

/// Liveness, readiness and metrics: what an orchestrator and Prometheus scrape.
struct OperationsController {
    let database: AppDatabase
    let registry: PrometheusCollectorRegistry

    func addRoutes(to routes: Routes) {
        routes.get("healthz", .open, use: health)
        routes.get("readyz", .open, use: readiness)
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

    @Sendable func metrics(_ request: Request, context: AppRequestContext) async throws -> Response {
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
