import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import NIOCore

/// The leaders' cockpit: the home payload of a scope, trends and rankings, and the H5 page.
/// A city leader reads every scope, a district leader the district and its hospitals, a
/// hospital leader that hospital (the `scope` query parameter is checked before the handler).
struct CockpitController {
    let service: CockpitService
    let cache: CockpitCache
    let clock: AppClock

    func addRoutes(to root: Routes, api: Routes) {
        root.get("cockpit", .open, use: page)
        let leaders = Access.roles(.leader, scope: .queryParameter("scope"))
        api.get("cockpit", leaders, use: home)
        api.get("cockpit/trend", leaders, use: trend)
        api.get("cockpit/ranking", leaders, use: ranking)
    }

    // MARK: Parameters

    /// `scope` (city, district:CODE or campus:ID), or the caller's own leader scope.
    static func scope(_ request: Request, _ context: AppRequestContext) throws -> Scope {
        let scope: Scope
        if let text = request.uri.queryParameters["scope"].map(String.init) {
            guard let parsed = Scope(text) else {
                throw APIError.invalidParameter("scope", "scope must be city, district:CODE or campus:ID.")
            }
            scope = parsed
        } else {
            guard let own = try context.requireIdentity().assignments.first(where: { $0.role == .leader })?.scope else {
                throw APIError.invalidParameter("scope", "scope is required: city, district:CODE or campus:ID.")
            }
            scope = own
        }
        switch scope {
        case .city, .district, .campus: return scope
        default: throw APIError.invalidParameter("scope", "scope must be city, district:CODE or campus:ID (the cockpit shows no \(scope)).")
        }
    }

    static func day(_ request: Request, _ name: String) throws -> Day? {
        try RequestParameters.day(name, in: request)
    }

    func metric(_ request: Request, _ name: String = "metric", default fallback: String? = nil) async throws -> Metric {
        guard let id = request.uri.queryParameters[Substring(name)].map(String.init) ?? fallback else {
            throw APIError.invalidParameter(name, "\(name) is required, e.g. icu.occupancyRate or feverClinic.visits.")
        }
        var label: String?
        if let (kind, code) = Metrics.catalogItem(of: id) {
            guard let item = try await service.catalog()[code], item.kind == kind else {
                throw APIError.invalidParameter(name, "\(name) \(id): the catalog has no \(kind.rawValue) \(code).")
            }
            label = item.name
        }
        guard let metric = Metrics.named(id, label: label) else {
            throw APIError.invalidParameter(
                name,
                "\(name) \(id) is not a metric: use SECTION.FIELD of the daily report, a derived metric "
                    + "such as icu.occupancyRate, or drugs.daysOfSupply.CODE with a catalog code."
            )
        }
        return metric
    }

    /// The latest complete day: yesterday in Shanghai.
    var yesterday: Day { Day(shanghaiTimeOf: clock.seconds) - 1 }

    /// The `date` asked for (not after today), if any.
    func requestedDate(_ request: Request) throws -> Day? {
        guard let day = try Self.day(request, "date") else { return nil }
        guard day <= yesterday + 1 else { throw APIError.invalidParameter("date", "date cannot be in the future.") }
        return day
    }

    func date(_ request: Request, scope: Scope) async throws -> Day {
        if let day = try requestedDate(request) { return day }
        return try await service.defaultDate(for: scope, limit: yesterday)
    }

    // MARK: Routes

    @Sendable func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scope = try Self.scope(request, context)
        let explicitDate = try requestedDate(request)
        let rankBy = try await metric(request, "rankBy", default: CockpitService.defaultRanking)
        let body = try await service.cachedHome(scope: scope, date: explicitDate, rankBy: rankBy, cache: cache, yesterday: yesterday)
        return Self.respond(body, to: request)
    }

    @Sendable func trend(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scope = try Self.scope(request, context)
        let metric = try await metric(request)
        let to: Day
        if let given = try Self.day(request, "to") {
            guard given <= yesterday + 1 else { throw APIError.invalidParameter("to", "to cannot be in the future.") }
            guard given.number >= 730 else { throw APIError.invalidParameter("to", "to is out of range.") }
            to = given
        } else {
            to = try await service.defaultDate(for: scope, limit: yesterday)
        }
        let from = try Self.day(request, "from") ?? to - 89
        guard from <= to else { throw APIError.invalidParameter("from", "from must be on or before to.") }
        guard to - from < 730 else { throw APIError.invalidParameter("from", "A trend spans at most 730 days.") }
        let bucketText = request.uri.queryParameters["bucket"].map(String.init) ?? "day"
        guard let bucket = CockpitService.Bucket(rawValue: bucketText) else {
            throw APIError.invalidParameter("bucket", "bucket must be day, week or month.")
        }
        let result = try await service.trend(scope: scope, metric: metric, from: from, to: to, bucket: bucket)
        return Self.respond(CockpitCache.Body(json: Array(try JSONResponse.encoder.encode(result))), to: request)
    }

    @Sendable func ranking(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scope = try Self.scope(request, context)
        let metric = try await metric(request)
        let level = request.uri.queryParameters["level"].map(String.init)
        guard level == nil || level == "district" || level == "campus" else {
            throw APIError.invalidParameter("level", "level must be district or campus.")
        }
        guard case let scopeLevel = CockpitService.level(of: scope), scopeLevel != .campus else {
            throw APIError.invalidParameter("scope", "A campus has nothing below it to rank: use city or district:CODE.")
        }
        if level == "district" && scopeLevel != .city {
            throw APIError.invalidParameter("level", "Districts are ranked within the city only.")
        }
        let date = try await date(request, scope: scope)
        let result = try await service.ranking(scope: scope, metric: metric, date: date, allCampuses: level == "campus")
        return Self.respond(CockpitCache.Body(json: Array(try JSONResponse.encoder.encode(result))), to: request)
    }

    // MARK: Conditional and compressed responses

    static func respond(_ body: CockpitCache.Body, to request: Request) -> Response {
        let gzip = body.gzip != nil && Gzip.accepted(by: request.headers[.acceptEncoding])
        let etag = gzip ? body.gzipETag : body.etag
        var headers: HTTPFields = [
            .eTag: etag,
            .cacheControl: "private, no-cache",
            .vary: "Accept-Encoding, Authorization",
        ]
        if let condition = request.headers[.ifNoneMatch], matches(condition, body) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json; charset=utf-8"
        if gzip, let compressed = body.gzip {
            headers[.contentEncoding] = "gzip"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: compressed)))
        }
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.json)))
    }

    /// `If-None-Match` uses the weak comparison (RFC 9110 §13.1.2): either representation's tag,
    /// with or without `W/`, or `*`.
    static func matches(_ condition: String, _ body: CockpitCache.Body) -> Bool {
        condition.split(separator: ",").contains { candidate in
            var tag = candidate.trimmingCharacters(in: .whitespaces)
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag.removeFirst(2) }
            return tag == body.etag || tag == body.gzipETag
        }
    }

    // MARK: The H5 page

    static let pageHTML: [UInt8]? = {
        guard
            let url = Bundle.module.url(forResource: "cockpit", withExtension: "html", subdirectory: "Resources")
                ?? Bundle.module.url(forResource: "cockpit", withExtension: "html")
        else { return nil }
        return (try? Data(contentsOf: url)).map(Array.init)
    }()

    @Sendable func page(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let html = Self.pageHTML else {
            throw APIError(.internalServerError, code: "page_missing", message: "The cockpit page is not bundled with this build.")
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/html; charset=utf-8",
                .contentSecurityPolicy:
                    "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; connect-src 'self'; frame-ancestors 'none'",
                .cacheControl: "no-cache",
                HTTPField.Name("X-Content-Type-Options")!: "nosniff",
                HTTPField.Name("Referrer-Policy")!: "no-referrer",
            ],
            body: .init(byteBuffer: ByteBuffer(bytes: html))
        )
    }
}
