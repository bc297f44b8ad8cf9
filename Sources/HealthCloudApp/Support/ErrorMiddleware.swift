import HealthCloudStorage
import Hummingbird
import Logging

/// Turns every error a route or Hummingbird throws into the API's error shape, so clients
/// never see a framework-specific body and metrics record the status that was really sent.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, request: request)
            if apiError.status.code >= 500 {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            return apiError.response()
        }
    }

    static func apiError(for error: any Error, request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            return translate(error, request: request)
        case let error as DatabaseError:
            if case .unavailable = error {
                return APIError(.serviceUnavailable, code: "database_unavailable", message: "The database cannot be reached; try again shortly.")
            }
            return .unexpected
        default:
            return .unexpected
        }
    }

    /// Hummingbird's own errors (no route, body too large, …) in our shape.
    static func translate(_ error: HTTPError, request: Request) -> APIError {
        switch error.status {
        case .notFound:
            return APIError(.notFound, code: "not_found", message: "No route for \(request.method) \(request.uri.path).")
        case .contentTooLarge:
            return APIError(.contentTooLarge, code: "payload_too_large", message: error.body ?? "The request body is larger than the server accepts.")
        case .methodNotAllowed:
            return APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed on \(request.uri.path).")
        default:
            let code = error.status.reasonPhrase.lowercased()
                .map { $0.isLetter || $0.isNumber ? $0 : "_" }
                .reduce(into: "") { $0.append($1) }
            return APIError(error.status, code: code.isEmpty ? "http_\(error.status.code)" : code, message: error.body ?? error.status.reasonPhrase)
        }
    }
}

/// Refuses a request whose declared `Content-Length` exceeds the limit before any route reads
/// it. Routes that decode bodies also stop reading at the limit (chunked uploads).
struct BodyLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let limit: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.maxUploadSize = limit
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "The request body has \(length) bytes; the limit is \(limit).")
        }
        return try await next(request, context)
    }
}
