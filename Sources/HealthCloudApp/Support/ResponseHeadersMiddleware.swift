import HTTPTypes
import Hummingbird

/// Headers every answer carries, outermost so errors get them too: `X-Content-Type-Options:
/// nosniff` (a browser must not reinterpret a JSON or text body as HTML or script), and
/// `Cache-Control: no-store` on everything under `/api/v1/auth/` — those answers carry access,
/// refresh and MFA tokens or an authenticator secret, which no browser, proxy or mini-program
/// cache may keep. Other routes keep the caching they set themselves (the cockpit's ETags).
struct ResponseHeadersMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    static let contentTypeOptions = HTTPField.Name("X-Content-Type-Options")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[Self.contentTypeOptions] = "nosniff"
        if request.uri.path.hasPrefix("/api/v1/auth/") {
            response.headers[.cacheControl] = "no-store"
        }
        return response
    }
}
