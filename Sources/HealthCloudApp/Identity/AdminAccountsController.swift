import Foundation
import HTTPTypes
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import Logging

/// Account and role administration. An administrator acts only within the scopes they hold
/// as admin: a district admin creates and grants within that district. Every change and
/// every read of clear personal data is audited.
struct AdminAccountsController {
    let database: AppDatabase
    let directory: ScopeDirectory
    let audit: AuditTrail
    let clock: AppClock
    let hasher: PasswordHasher

    func addRoutes(to api: Routes) {
        let admin = api.group("admin")
        admin.get("accounts", .roles(.admin, scope: .queryParameter("scope")), use: list)
        admin.post("accounts", .roles(.admin), use: create)
        admin.post("accounts/{id}/roles", .roles(.admin), use: grant)
        admin.delete("accounts/{id}/roles", .roles(.admin), use: revoke)
        admin.get("accounts/{id}/personal-data", .roles(.admin, scope: ScopeRule(name: "city") { _, _, _ in .city }), use: personalData)
        admin.get("audit", .roles(.admin, scope: ScopeRule(name: "city") { _, _, _ in .city }), use: auditRecords)
    }

    struct AccountView: Encodable {
        var id: Int
        var kind: String
        var username: String?
        var displayName: String
        var roles: [AuthController.Profile.Assignment]
    }

    struct AccountList: Encodable {
        var accounts: [AccountView]
        var next: Int?
    }

    /// Staff accounts holding a role at exactly the `scope` asked (required).
    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let scopeText = request.uri.queryParameters["scope"].map(String.init), let scope = Scope(scopeText) else {
            throw APIError.invalidParameter("scope", "scope is required: city, district:CODE, institution:ID, campus:ID or site:ID.")
        }
        let limit = try RequestParameters.limit(in: request)
        let after = try RequestParameters.nonNegativeInteger("after", in: request) ?? 0
        let ids = try await database.identity.accountIds(holdingRoleAt: scope, after: after, limit: limit + 1)
        var views: [AccountView] = []
        for id in ids.prefix(limit) {
            guard let account = try await database.identity.account(id: id) else { continue }
            let assignments = try await database.identity.assignments(accountId: id).filter(\.intact)
            views.append(
                AccountView(
                    id: id,
                    kind: account.kind,
                    username: account.username,
                    displayName: account.displayName,
                    roles: assignments.map { .init(role: $0.assignment.role.rawValue, scope: $0.assignment.scope.description) }
                )
            )
        }
        return try JSONResponse.encode(AccountList(accounts: views, next: ids.count > limit ? views.last?.id : nil))
    }

    struct NewAccount: Decodable {
        struct Grant: Decodable {
            var role: String
            var scope: String
        }

        var username: String
        var displayName: String
        var password: String
        var roles: [Grant]
    }

    struct Created: Encodable {
        var id: Int
        var enrolmentRequired = true
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(NewAccount.self, from: request, context: context)
        guard body.username.range(of: #"^[a-z0-9][a-z0-9._-]{2,39}\z"#, options: .regularExpression) != nil else {
            throw APIError(.badRequest, code: "invalid_field", message: "username must be 3–40 of a–z, 0–9, '.', '_' or '-'.", field: "username")
        }
        let displayName = body.displayName.trimmingCharacters(in: .whitespaces)
        guard (1...60).contains(displayName.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "displayName must have 1 to 60 characters.", field: "displayName")
        }
        if let problem = PasswordPolicy.problem(with: body.password) {
            throw APIError(.badRequest, code: "weak_password", message: "password \(problem).", field: "password")
        }
        guard !body.roles.isEmpty else {
            throw APIError(.badRequest, code: "invalid_field", message: "roles must name at least one role.", field: "roles")
        }
        var assignments: [RoleAssignment] = []
        for (index, grant) in body.roles.enumerated() {
            assignments.append(try await checkedAssignment(role: grant.role, scope: grant.scope, by: identity, field: "roles[\(index)]"))
        }
        let id: Int
        do {
            id = try await database.identity.createStaff(
                username: body.username,
                displayName: displayName,
                passwordHash: try hasher.hash(body.password),
                totpSecret: nil,
                totpConfirmed: false,
                assignments: assignments,
                now: clock.seconds
            )
        } catch DatabaseError.uniqueViolation {
            throw APIError(.conflict, code: "username_taken", message: "The username \(body.username) is taken.", field: "username")
        }
        try await audit.record(
            "account_create",
            target: "account:\(id)",
            result: "success",
            context: context,
            detail: assignments.map { "\($0.role.rawValue)@\($0.scope)" }.joined(separator: ",")
        )
        return try JSONResponse.encode(Created(id: id), status: .created)
    }

    struct GrantBody: Decodable {
        var role: String
        var scope: String
    }

    @Sendable func grant(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let accountId = try RequestParameters.positiveInteger("id", in: context)
        let body = try await JSONBody.decode(GrantBody.self, from: request, context: context)
        let assignment = try await checkedAssignment(role: body.role, scope: body.scope, by: identity, field: nil)
        guard let account = try await database.identity.account(id: accountId), account.kind == "staff" else {
            throw APIError.notFound("account_not_found", "There is no staff account \(accountId).")
        }
        do {
            try await database.identity.grant(assignment, to: accountId, by: identity.accountId, now: clock.seconds)
        } catch DatabaseError.uniqueViolation {
            throw APIError(
                .conflict,
                code: "already_granted",
                message: "The account already holds \(assignment.role.rawValue) at \(assignment.scope)."
            )
        }
        try await audit.record(
            "role_grant",
            target: "account:\(accountId)",
            result: "success",
            context: context,
            detail: "\(assignment.role.rawValue)@\(assignment.scope)"
        )
        return Response(status: .noContent)
    }

    @Sendable func revoke(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let accountId = try RequestParameters.positiveInteger("id", in: context)
        let role = request.uri.queryParameters["role"].map(String.init) ?? ""
        let scope = request.uri.queryParameters["scope"].map(String.init) ?? ""
        let assignment = try await checkedAssignment(role: role, scope: scope, by: identity, field: nil, code: "invalid_parameter")
        guard try await database.identity.revoke(assignment, from: accountId) else {
            throw APIError.notFound("assignment_not_found", "Account \(accountId) does not hold \(assignment.role.rawValue) at \(assignment.scope).")
        }
        try await audit.record(
            "role_revoke",
            target: "account:\(accountId)",
            result: "success",
            context: context,
            detail: "\(assignment.role.rawValue)@\(assignment.scope)"
        )
        return Response(status: .noContent)
    }

    struct PersonalDataView: Encodable {
        var accountId: Int
        var name: String?
        var phone: String?
        var idNumber: String?
    }

    /// Clear personal data, for the administrator who must verify an identity. Audited.
    @Sendable func personalData(_ request: Request, context: AppRequestContext) async throws -> Response {
        let accountId = try RequestParameters.positiveInteger("id", in: context)
        guard let record = try await database.identity.personalData(accountId: accountId) else {
            throw APIError.notFound("account_not_found", "There is no account \(accountId).")
        }
        try await audit.record(
            "pii_read",
            target: "account:\(accountId)",
            result: "success",
            context: context,
            detail: [record.name == nil ? nil : "name", record.phone == nil ? nil : "phone", record.idNumber == nil ? nil : "idNumber"]
                .compactMap { $0 }.joined(separator: ",")
        )
        var response = try JSONResponse.encode(
            PersonalDataView(accountId: accountId, name: record.name, phone: record.phone, idNumber: record.idNumber)
        )
        response.headers[.cacheControl] = "no-store"
        return response
    }

    struct AuditPage: Encodable {
        struct Row: Encodable {
            var seq: Int64
            var at: String
            var actorAccount: Int?
            var actorRole: String
            var action: String
            var target: String
            var result: String
            var clientIP: String
            var requestID: String
            var detail: String
            var hash: String
        }

        var records: [Row]
        var next: Int64?
    }

    @Sendable func auditRecords(_ request: Request, context: AppRequestContext) async throws -> Response {
        let after = Int64(try RequestParameters.nonNegativeInteger("after", in: request) ?? 0)
        let limit = try RequestParameters.limit(in: request)
        let records = try await database.audit.records(after: after, limit: limit)
        return try JSONResponse.encode(
            AuditPage(
                records: records.map {
                    .init(
                        seq: $0.seq,
                        at: $0.entry.at,
                        actorAccount: $0.entry.actorAccount,
                        actorRole: $0.entry.actorRole,
                        action: $0.entry.action,
                        target: $0.entry.target,
                        result: $0.entry.result,
                        clientIP: $0.entry.clientIP,
                        requestID: $0.entry.requestID,
                        detail: $0.entry.detail,
                        hash: $0.hash
                    )
                },
                next: records.count == limit ? records.last?.seq : nil
            )
        )
    }

    /// A staff role at a scope that exists and that the administrator's own admin scopes cover.
    private func checkedAssignment(
        role roleText: String,
        scope scopeText: String,
        by identity: Identity,
        field: String?,
        code: String = "invalid_field"
    ) async throws -> RoleAssignment {
        guard let role = Role(rawValue: roleText), role.isStaff else {
            throw APIError(
                .badRequest,
                code: code,
                message: "role must be one of \(Role.allCases.filter(\.isStaff).map(\.rawValue).joined(separator: ", ")).",
                field: field.map { "\($0).role" } ?? "role"
            )
        }
        guard let scope = Scope(scopeText), !(scope.isPatient) else {
            throw APIError(
                .badRequest,
                code: code,
                message: "scope must be city, district:CODE, institution:ID, campus:ID or site:ID.",
                field: field.map { "\($0).scope" } ?? "scope"
            )
        }
        guard let path = try await directory.path(of: scope) else {
            throw APIError.notFound("scope_not_found", "There is no \(scope).")
        }
        guard identity.may([.admin], at: path) else {
            throw APIError(.forbidden, code: "forbidden_scope", message: "You may only grant roles within your own admin scopes.")
        }
        return RoleAssignment(role: role, scope: scope)
    }
}
