import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The one error shape of the API:
/// `{"error":{"code":"snake_case_code","message":"…","field":"json.path"}}`.
///
/// `code` is for programs, `message` for people, and `field` names the faulty input
/// (a JSON path into the body, or a query or path parameter) when one field is at fault.
public struct APIError: Error, HTTPResponseError, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var field: String?
    /// Extra response headers (e.g. `Allow` on a 405, `Retry-After` on a 429).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, field: String? = nil, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response()
    }

    func response() -> Response {
        let body = ErrorBody(error: .init(code: code, message: message, field: field))
        let bytes = (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"code":"internal_error","message":"error"}}"#.utf8)
        var headers = self.headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    struct ErrorBody: Codable {
        struct Detail: Codable {
            var code: String
            var message: String
            var field: String?
        }

        var error: Detail
    }
}

extension APIError {
    public static func invalidParameter(_ name: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_parameter", message: message, field: name)
    }

    public static func notFound(_ code: String, _ message: String) -> APIError {
        APIError(.notFound, code: code, message: message)
    }

    static let unexpected = APIError(
        .internalServerError,
        code: "internal_error",
        message: "The server failed to handle the request; it has been logged with the request id."
    )
}
