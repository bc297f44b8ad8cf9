import Foundation
import HTTPTypes
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird
import Logging

/// Sign-in for patients (phone code) and staff (password + TOTP), token refresh, sign-out,
/// and the caller's own profile.
struct AuthController {
    let service: IdentityService
    let database: AppDatabase
    let audit: AuditTrail

    func addRoutes(to api: Routes) {
        let auth = api.group("auth")
        auth.post("otp", .open, use: requestCode)
        auth.post("patient/login", .open, use: patientLogin)
        auth.post("staff/login", .open, use: staffLogin)
        auth.post("staff/mfa/enrol", .open, use: enrol)
        auth.post("staff/mfa", .open, use: completeMFA)
        auth.post("refresh", .open, use: refresh)
        auth.post("logout", .authenticated, use: logout)
        api.get("me", .authenticated, use: me)
        api.put("me/real-name", .roles(.patient), use: setRealName)
    }

    struct PhoneBody: Decodable { var phone: String }
    struct PatientLoginBody: Decodable {
        var phone: String
        var code: String
    }
    struct StaffLoginBody: Decodable {
        var username: String
        var password: String
    }
    struct MFATokenBody: Decodable { var mfaToken: String }
    struct MFABody: Decodable {
        var mfaToken: String
        var code: String
    }
    struct RefreshBody: Decodable { var refreshToken: String }
    struct RealNameBody: Decodable {
        var name: String
        var idNumber: String
    }

    struct CodeSent: Encodable {
        var expiresIn: Int64
        var resendAfter: Int64
    }

    @Sendable func requestCode(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(PhoneBody.self, from: request, context: context)
        let sent = try await service.requestCode(phone: body.phone, context: context)
        return try JSONResponse.encode(CodeSent(expiresIn: sent.expiresIn, resendAfter: sent.resendAfter), status: .accepted)
    }

    @Sendable func patientLogin(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(PatientLoginBody.self, from: request, context: context)
        return try JSONResponse.encode(try await service.patientLogin(phone: body.phone, code: body.code, context: context))
    }

    @Sendable func staffLogin(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(StaffLoginBody.self, from: request, context: context)
        return try JSONResponse.encode(try await service.staffLogin(username: body.username, password: body.password, context: context))
    }

    @Sendable func enrol(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(MFATokenBody.self, from: request, context: context)
        return try JSONResponse.encode(try await service.enrol(mfaToken: body.mfaToken, context: context))
    }

    @Sendable func completeMFA(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(MFABody.self, from: request, context: context)
        return try JSONResponse.encode(try await service.completeMFA(mfaToken: body.mfaToken, code: body.code, context: context))
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await JSONBody.decode(RefreshBody.self, from: request, context: context)
        return try JSONResponse.encode(try await service.refresh(refreshToken: body.refreshToken, context: context))
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await service.logout(identity: try context.requireIdentity(), context: context)
        return Response(status: .noContent)
    }

    struct Profile: Encodable {
        struct Assignment: Encodable {
            var role: String
            var scope: String
        }

        struct SessionInfo: Encodable {
            var expiresAt: Date
            var idleTimeoutSeconds: Int64
        }

        var accountId: Int
        var kind: String
        var displayName: String
        var roles: [Assignment]
        /// Masked: `138****5678`.
        var phone: String?
        /// Masked: `310***********1234`.
        var idNumber: String?
        /// True once a verification source confirmed the ID number (`realNameStatus` `verified`).
        var realNameVerified: Bool
        /// `none`, `unverified` (self-declared) or `verified`.
        var realNameStatus: IdentityRepository.RealNameStatus
        var session: SessionInfo
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(try await profile(context.requireIdentity()))
    }

    func profile(_ identity: Identity) async throws -> Profile {
        let personal = identity.accountKind == "patient" ? try await database.identity.personalData(accountId: identity.accountId) : nil
        let status = personal?.idNumber == nil ? .none : try await database.identity.realNameStatus(accountId: identity.accountId)
        return Profile(
            accountId: identity.accountId,
            kind: identity.accountKind,
            displayName: identity.displayName,
            roles: identity.assignments.map { .init(role: $0.role.rawValue, scope: $0.scope.description) },
            phone: personal?.phone.map(PersonalData.maskPhone),
            idNumber: personal?.idNumber.map(PersonalData.maskIDNumber),
            realNameVerified: status == .verified,
            realNameStatus: status,
            session: .init(
                expiresAt: Date(timeIntervalSince1970: TimeInterval(identity.sessionExpiresAt)),
                idleTimeoutSeconds: identity.idleTimeoutSeconds
            )
        )
    }

    @Sendable func setRealName(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let body = try await JSONBody.decode(RealNameBody.self, from: request, context: context)
        let name = body.name.trimmingCharacters(in: .whitespaces)
        guard (2...30).contains(name.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "name must have 2 to 30 characters.", field: "name")
        }
        guard PersonalData.isValidIDNumber(body.idNumber) else {
            throw APIError(
                .badRequest,
                code: "invalid_field",
                message: "idNumber must be an 18-character resident ID number with a valid check character.",
                field: "idNumber"
            )
        }
        // Recorded as declared, and verified only when the verification source confirms it. The
        // answer is the same whether or not someone else holds the number, so it tells nobody
        // whether that person uses the network.
        let idNumber = body.idNumber.uppercased()
        let result: String
        if try await database.identity.realNameStatus(accountId: identity.accountId) == .verified,
            let current = try await database.identity.personalData(accountId: identity.accountId),
            current.idNumber == idNumber, current.name == name
        {
            result = "unchanged"
        } else if (try? await service.verifier.confirms(name: name, idNumber: idNumber)) == true {
            do {
                try await database.identity.setRealName(accountId: identity.accountId, name: name, idNumber: idNumber)
                result = "verified"
            } catch DatabaseError.uniqueViolation {
                // Confirmed, yet another account holds the number verified: kept unverified for a
                // person to look at (the audit row says why), not told to the caller.
                try await database.identity.setRealNameClaim(accountId: identity.accountId, name: name, idNumber: idNumber)
                result = "held_by_another_account"
            }
        } else {
            try await database.identity.setRealNameClaim(accountId: identity.accountId, name: name, idNumber: idNumber)
            result = "unverified"
        }
        try await audit.record("real_name_set", target: "account:\(identity.accountId)", result: result, context: context)
        var updated = identity
        updated.displayName = PersonalData.maskName(name)
        return try JSONResponse.encode(try await profile(updated))
    }
}
