import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// Warnings of the four pressures: listing by scope, acknowledgement and resolution by a
/// leader of the warning's scope, and the threshold table city administrators edit.
struct WarningsController {
    let database: AppDatabase
    let audit: AuditTrail
    let clock: AppClock
    let decideWarning: DecideWarning

    func addRoutes(to api: Routes) {
        api.get("warnings", .roles(.leader, .admin, scope: .queryParameter("scope")), use: list)
        api.get("warnings/{id}", .roles(.leader, .admin, scope: warningScope), use: detail)
        api.post("warnings/{id}/ack", .roles(.leader, scope: warningScope), use: acknowledge)
        api.post("warnings/{id}/resolve", .roles(.leader, scope: warningScope), use: resolve)
        let cityAdmin = Access.roles(.admin, scope: ScopeRule(name: "city") { _, _, _ in .city })
        api.get("admin/warning-rules", cityAdmin, use: rules)
        api.put("admin/warning-rules", cityAdmin, use: putRules)
    }

    /// The place a warning is about, so only leaders covering it may act on it.
    var warningScope: ScopeRule {
        let warnings = database.warnings
        return ScopeRule(name: "warning:id") { _, context, directory in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let scope = try await warnings.scope(ofWarning: id), let path = try await directory.path(of: scope) else {
                throw APIError.notFound("warning_not_found", "There is no warning \(id).")
            }
            return path
        }
    }

    struct Page: Encodable {
        var warnings: [WarningRepository.Warning]
        var next: Int?
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scope: Scope
        if let text = request.uri.queryParameters["scope"].map(String.init) {
            guard let parsed = Scope(text) else {
                throw APIError.invalidParameter("scope", "scope must be city, district:CODE, institution:ID or campus:ID.")
            }
            scope = parsed
        } else {
            let identity = try context.requireIdentity()
            guard let own = identity.assignments.first(where: { $0.role == .leader || $0.role == .admin })?.scope else {
                throw APIError.invalidParameter("scope", "scope is required.")
            }
            scope = own
        }
        switch scope {
        case .city, .district, .institution, .campus: break
        default: throw APIError.invalidParameter("scope", "scope must be city, district:CODE, institution:ID or campus:ID.")
        }
        let statusText = request.uri.queryParameters["status"].map(String.init) ?? "active"
        guard let status = WarningRepository.StatusFilter(rawValue: statusText) else {
            throw APIError.invalidParameter(
                "status",
                "status must be one of \(WarningRepository.StatusFilter.allCases.map(\.rawValue).joined(separator: ", "))."
            )
        }
        let limit = try RequestParameters.limit(in: request)
        let offset = try RequestParameters.nonNegativeInteger("offset", in: request) ?? 0
        guard offset <= 1_000_000 else { throw APIError.invalidParameter("offset", "offset must be at most 1000000.") }
        let warnings = try await database.warnings.list(scope: scope, status: status, limit: limit, offset: offset)
        return try JSONResponse.encode(Page(warnings: warnings, next: warnings.count == limit ? offset + limit : nil))
    }

    struct Detail: Encodable {
        var warning: WarningRepository.Warning
        var events: [WarningRepository.Event]
    }

    @Sendable func detail(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        guard let warning = try await database.warnings.warning(id: id) else {
            throw APIError.notFound("warning_not_found", "There is no warning \(id).")
        }
        return try JSONResponse.encode(Detail(warning: warning, events: try await database.warnings.events(warningId: id)))
    }

    @Sendable func acknowledge(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await decide(.acknowledge, request, context)
    }

    @Sendable func resolve(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await decide(.resolve, request, context)
    }

    private func decide(_ action: DecideWarning.Action, _ request: Request, _ context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        let body = try await JSONBody.decode(JSONValue.self, from: request, context: context)
        let note = try DecideWarning.Input.note(try Arguments(object: body, field: "body", prefix: ""))
        switch try await decideWarning.run(action, .init(warningId: id, note: note), by: try Caller(context)) {
        case .done(let warning): return try JSONResponse.encode(warning)
        case .refused(let error): throw error
        }
    }

    @Sendable func rules(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(try await database.warnings.ruleTable())
    }

    @Sendable func putRules(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let table = try await JSONBody.decode(WarningRuleTable.self, from: request, context: context)
        var problems = table.problems()
        // Days-of-supply rules must name an item the catalog lists, of the right kind.
        let catalog = Dictionary(try await database.reports.catalog().map { ($0.code, $0.kind) }, uniquingKeysWith: { first, _ in first })
        for (index, rule) in table.rules.enumerated() {
            if let (kind, code) = Metrics.catalogItem(of: rule.metric), catalog[code] != kind {
                problems.append((path: "rules[\(index)].metric", message: "the catalog has no \(kind.rawValue) \(code)"))
            }
        }
        guard problems.isEmpty else { return try QualityController.InvalidTable.response(problems, table: "warning table") }
        let version = try await database.warnings.saveRuleTable(table, by: identity.accountId, now: clock.seconds)
        try await audit.record("warning_rules_save", target: "warning_rules:v\(version)", result: "success", context: context)
        var saved = table
        saved.version = version
        return try JSONResponse.encode(saved)
    }
}
