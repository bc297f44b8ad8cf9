import HealthCloudDomain
import Hummingbird

/// Path and query parameters read the same way on every route, with the same 400
/// `invalid_parameter` answers naming the parameter.
enum RequestParameters {
    /// A path parameter that must be an id: a positive integer.
    static func positiveInteger(_ name: String, in context: AppRequestContext) throws -> Int {
        guard let value = context.parameters.get(name).flatMap(Int.init), value >= 1 else {
            throw APIError.invalidParameter(name, "\(name) must be a positive integer.")
        }
        return value
    }

    /// An optional query parameter that must be a non-negative integer.
    static func nonNegativeInteger(_ name: String, in request: Request) throws -> Int? {
        guard let text = request.uri.queryParameters[Substring(name)] else { return nil }
        guard let value = Int(String(text)), value >= 0 else {
            throw APIError.invalidParameter(name, "\(name) must be a non-negative integer.")
        }
        return value
    }

    /// An optional query parameter that must be a date `YYYY-MM-DD`.
    static func day(_ name: String, in request: Request) throws -> Day? {
        guard let text = request.uri.queryParameters[Substring(name)].map(String.init) else { return nil }
        guard let day = Day(text) else { throw APIError.invalidParameter(name, "\(name) must be a date YYYY-MM-DD.") }
        return day
    }

    /// The page size of a listing: `limit`, 1–1000, default 100.
    static func limit(in request: Request) throws -> Int {
        let limit = try nonNegativeInteger("limit", in: request) ?? 100
        guard (1...1000).contains(limit) else { throw APIError.invalidParameter("limit", "limit must be between 1 and 1000.") }
        return limit
    }
}
