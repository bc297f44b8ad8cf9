import Foundation
import HealthCloudDomain
import Hummingbird
import NIOCore

/// Encodes route results with one shared configuration (no pretty printing, ISO 8601 dates),
/// so every route's JSON looks the same.
enum JSONResponse {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return encoder
    }

    static func encode<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) throws -> Response {
        bytes(try encoder.encode(value), status: status, headers: extra)
    }

    static func bytes(_ data: some Collection<UInt8>, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// Decodes a JSON request body with errors that name the faulty field.
public enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        let limit = context.maxUploadSize
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "The request body is larger than \(limit) bytes.")
        }
        return try decode(type, from: buffer.readableBytesView)
    }

    /// Parses once (``JSONTree``: linear, depth-capped, byte-exact keys), then maps the tree
    /// onto `T` with errors that name the field.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Collection<UInt8>) throws -> T {
        guard !bytes.isEmpty else {
            throw APIError(.badRequest, code: "invalid_json", message: "The request body is empty; a JSON object is expected.")
        }
        let tree: JSONValue
        do throws(JSONTree.Failure) {
            tree = try JSONTree.parse(bytes)
        } catch .invalid(let reason) {
            throw APIError(.badRequest, code: "invalid_json", message: "The request body is not valid JSON: \(reason).")
        } catch .tooDeep(let path) {
            throw APIError(
                .badRequest,
                code: "json_too_deep",
                message: "The request body nests deeper than \(JSONTree.maxDepth) levels\(path.isEmpty ? "" : " at \(path)").",
                field: path.isEmpty ? nil : path
            )
        }
        do {
            return try JSONTreeDecoder.decode(type, from: tree)
        } catch let error as DecodingError {
            throw apiError(for: error)
        }
    }

    static func apiError(for error: DecodingError) -> APIError {
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return APIError(.badRequest, code: "invalid_json", message: "The request body is not valid JSON.")
        case .dataCorrupted(let context):
            return APIError(
                .badRequest,
                code: "invalid_field",
                message: "\(path(context.codingPath)): \(context.debugDescription)",
                field: path(context.codingPath)
            )
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath + [key])
            return APIError(.badRequest, code: "missing_field", message: "\(field) is required.", field: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            return APIError(
                .badRequest,
                code: "invalid_field",
                message: "\(field.isEmpty ? "The body" : field) must be \(describe(type)).",
                field: field.isEmpty ? nil : field
            )
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            return APIError(
                .badRequest,
                code: "invalid_field",
                message: "\(field.isEmpty ? "The body" : field) must be \(describe(type)), not null.",
                field: field.isEmpty ? nil : field
            )
        @unknown default:
            return APIError(.badRequest, code: "invalid_json", message: "The request body could not be read.")
        }
    }

    /// `a.b[2].c`, the JSON path of a coding path.
    static func path(_ codingPath: [any CodingKey]) -> String {
        var result = ""
        for key in codingPath {
            if let index = key.intValue {
                result += "[\(index)]"
            } else {
                result += result.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return result
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type, is Float.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "a JSON value of the documented type"
        }
    }
}
