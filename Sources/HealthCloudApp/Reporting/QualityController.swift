import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// Quality dashboards for each level, the catalog of strategic drugs and materials, and the
/// rule table administrators tune.
struct QualityController {
    let database: AppDatabase
    let audit: AuditTrail
    let clock: AppClock

    func addRoutes(to api: Routes) {
        api.get("qc/summary", .roles(.reporter, .leader, .admin, scope: .queryParameter("scope")), use: summary)
        api.get("qc/findings", .roles(.reporter, .leader, .admin, scope: .queryParameter("scope")), use: findings)
        api.get("catalog", .open, use: catalog)
        let cityAdmin = Access.roles(.admin, scope: ScopeRule(name: "city") { _, _, _ in .city })
        api.put("admin/catalog/{code}", cityAdmin, use: putCatalogItem)
        api.get("admin/qc-rules", cityAdmin, use: rules)
        api.put("admin/qc-rules", cityAdmin, use: putRules)
    }

    static func scope(_ request: Request) throws -> Scope {
        guard let text = request.uri.queryParameters["scope"].map(String.init) else {
            throw APIError.invalidParameter("scope", "scope is required: city, district:CODE, institution:ID or campus:ID.")
        }
        guard let scope = Scope(text), !scope.isPatient else {
            throw APIError.invalidParameter("scope", "scope must be city, district:CODE, institution:ID, campus:ID or site:ID.")
        }
        return scope
    }

    static func day(_ request: Request, _ name: String, default value: Day) throws -> Day {
        try RequestParameters.day(name, in: request) ?? value
    }

    var yesterday: Day { Day(shanghaiTimeOf: clock.seconds) - 1 }

    @Sendable func summary(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scope = try Self.scope(request)
        let date = try Self.day(request, "date", default: yesterday)
        return try JSONResponse.encode(try await database.quality.summary(scope: scope, date: date))
    }

    struct FindingsPage: Encodable {
        var findings: [QualityQueries.OpenFinding]
        var next: Int?
    }

    @Sendable func findings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scope = try Self.scope(request)
        let to = try Self.day(request, "to", default: yesterday)
        let from = try Self.day(request, "from", default: to - 6)
        guard from <= to, to - from <= 366 else { throw APIError.invalidParameter("from", "from must be on or before to, at most 366 days apart.") }
        let limit = try RequestParameters.limit(in: request)
        let before = try RequestParameters.nonNegativeInteger("before", in: request)
        let findings = try await database.quality.findings(scope: scope, from: from, to: to, before: before, limit: limit)
        return try JSONResponse.encode(FindingsPage(findings: findings, next: findings.count == limit ? findings.last?.id : nil))
    }

    @Sendable func catalog(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(["items": try await database.reports.catalog()])
    }

    struct CatalogBody: Decodable {
        var kind: String
        var name: String
        var unit: String
    }

    @Sendable func putCatalogItem(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let code = context.parameters.get("code"), code.range(of: #"^[A-Z0-9][A-Z0-9_-]{1,31}\z"#, options: .regularExpression) != nil else {
            throw APIError.invalidParameter("code", "code must be 2–32 of A–Z, 0–9, '_' or '-'.")
        }
        let body = try await JSONBody.decode(CatalogBody.self, from: request, context: context)
        guard let kind = CatalogKind(rawValue: body.kind) else {
            throw APIError(.badRequest, code: "invalid_field", message: "kind must be drug or material.", field: "kind")
        }
        guard (1...80).contains(body.name.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "name must have 1–80 characters.", field: "name")
        }
        guard (1...20).contains(body.unit.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "unit must have 1–20 characters.", field: "unit")
        }
        let item = CatalogItem(code: code, kind: kind, name: body.name, unit: body.unit)
        try await database.reports.upsertCatalog([item])
        try await audit.record("catalog_put", target: "catalog:\(code)", result: "success", context: context)
        return try JSONResponse.encode(item)
    }

    @Sendable func rules(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(try await database.reports.ruleTable())
    }

    struct InvalidTable: Encodable {
        struct Problem: Encodable {
            var field: String
            var message: String
        }

        var error: APIError.ErrorBody.Detail
        var problems: [Problem]

        /// 422 with every problem of an edited rule table; nothing was saved.
        static func response(_ problems: [(path: String, message: String)], table: String) throws -> Response {
            try JSONResponse.encode(
                InvalidTable(
                    error: .init(
                        code: "invalid_rule_table",
                        message: "The \(table) has \(problems.count) problem(s); nothing was saved.",
                        field: problems[0].path
                    ),
                    problems: problems.map { .init(field: $0.path, message: $0.message) }
                ),
                status: .unprocessableContent
            )
        }
    }

    @Sendable func putRules(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let table = try await JSONBody.decode(QualityRuleTable.self, from: request, context: context)
        let problems = table.problems()
        guard problems.isEmpty else { return try InvalidTable.response(problems, table: "rule table") }
        let version = try await database.reports.saveRuleTable(table, by: identity.accountId, now: clock.seconds)
        try await audit.record("qc_rules_save", target: "qc_rules:v\(version)", result: "success", context: context)
        var saved = table
        saved.version = version
        return try JSONResponse.encode(saved)
    }
}
