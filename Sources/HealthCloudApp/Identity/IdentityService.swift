import Foundation
import HTTPTypes
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import Logging
import Synchronization

/// What a successful sign-in or refresh returns.
public struct TokenPair: Codable, Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String
    /// Seconds until the access token expires.
    public var expiresIn: Int64
    public var tokenType = "Bearer"
}

/// Sign-in, sessions and tokens. Tokens are opaque random strings; the database keeps only
/// their SM3 hashes, so a session is revoked by deleting rows and a leaked table gives
/// nothing usable.
public struct IdentityService: Sendable {
    let database: AppDatabase
    let policy: IdentityPolicy
    let clock: AppClock
    let sms: any SMSSender
    let audit: AuditTrail
    let hasher: PasswordHasher
    /// Verified against when the username is unknown, locked or throttled, so every answer
    /// that depends on the username costs one password hash.
    let decoyHash: String
    let verifier: any IdentityVerifier
    /// Lockout per (username, client) and the slower throttle per username.
    let guardian: SignInGuard
    let loginPerClient: RateLimiter
    let loginGlobal: RateLimiter
    let otpPerClient: RateLimiter
    let otpGlobal: RateLimiter

    init(
        database: AppDatabase,
        policy: IdentityPolicy,
        clock: AppClock,
        sms: any SMSSender,
        audit: AuditTrail,
        verifier: any IdentityVerifier = UnconfiguredIdentityVerifier()
    ) throws {
        self.database = database
        self.policy = policy
        self.clock = clock
        self.sms = sms
        self.audit = audit
        self.verifier = verifier
        self.hasher = PasswordHasher(iterations: policy.passwordIterations)
        self.decoyHash = try hasher.hash(Base64URL.encode(SecureRandom.bytes(12)))
        self.guardian = SignInGuard(threshold: policy.lockoutThreshold, lockSeconds: policy.lockoutSeconds, accountFailures: policy.accountFailures)
        self.loginPerClient = RateLimiter(policy.staffLoginPerClient)
        self.loginGlobal = RateLimiter(policy.staffLoginGlobal)
        self.otpPerClient = RateLimiter(policy.otpPerClient)
        self.otpGlobal = RateLimiter(policy.otpGlobal)
    }

    private var nowMillis: Int64 { Int64((clock.now.timeIntervalSince1970 * 1000).rounded(.down)) }

    var identity: IdentityRepository { database.identity }
    var sessions: SessionRepository { database.sessions }

    // MARK: Patients: phone code

    /// Sends a 6-digit code by SMS, at most one a minute and five an hour per phone, within
    /// the per-client and overall limits (SMS pumping to many numbers costs money).
    func requestCode(phone: String, context: AppRequestContext) async throws -> (expiresIn: Int64, resendAfter: Int64) {
        guard PersonalData.isValidPhone(phone) else {
            throw APIError(.badRequest, code: "invalid_field", message: "phone must be an 11-digit mainland mobile number.", field: "phone")
        }
        let now = clock.seconds
        if let wait = otpPerClient.take(ClientAddress.limitKey(context.clientIP), nowMillis: nowMillis) {
            throw Self.rateLimited(retryAfter: wait, field: nil)
        }
        let index = database.protection.blindIndex("phone", phone)
        let sent = try await sessions.codesSent(phoneIndex: index, since: now - 3600)
        if let latest = sent.latest, now - latest < policy.otpResendSeconds {
            throw Self.rateLimited(retryAfter: policy.otpResendSeconds - (now - latest))
        }
        if sent.count >= policy.otpPerHour {
            throw Self.rateLimited(retryAfter: max(1, (sent.earliest ?? now) + 3600 - now))
        }
        if let wait = otpGlobal.take("otp", nowMillis: nowMillis) {
            throw Self.rateLimited(retryAfter: wait, field: nil)
        }
        let code = Self.randomDigits(6)
        let hash = codeHash(phone: phone, code: code)
        try await sessions.insertCode(phoneIndex: index, codeHash: hash, now: now, expiresAt: now + policy.otpSeconds)
        do {
            try await sms.send(to: phone, text: "【健康云】验证码 \(code)，\(policy.otpSeconds / 60) 分钟内有效，请勿告诉他人。Your HealthCloud code is \(code).")
        } catch {
            try? await sessions.withdrawCode(phoneIndex: index, codeHash: hash)
            throw APIError(.serviceUnavailable, code: "sms_unavailable", message: "Text messages cannot be sent right now; try again later.")
        }
        return (policy.otpSeconds, policy.otpResendSeconds)
    }

    func patientLogin(phone: String, code: String, context: AppRequestContext) async throws -> TokenPair {
        guard PersonalData.isValidPhone(phone) else {
            throw APIError(.badRequest, code: "invalid_field", message: "phone must be an 11-digit mainland mobile number.", field: "phone")
        }
        let now = clock.seconds
        let index = database.protection.blindIndex("phone", phone)
        let check = try await sessions.checkCode(
            phoneIndex: index,
            codeHash: codeHash(phone: phone, code: code),
            now: now,
            maxAttempts: policy.otpMaxAttempts
        )
        guard check == .accepted else {
            try await audit.record(
                "patient_login",
                target: "phone:\(PersonalData.maskPhone(phone))",
                result: "failure",
                context: context,
                detail: "\(check)"
            )
            throw APIError(.unauthorized, code: "invalid_code", message: "The code is wrong or has expired; request a new one.", field: "code")
        }
        let (accountId, created) = try await identity.findOrCreatePatient(phone: phone, now: now)
        let tokens = try await openSession(
            accountId: accountId,
            kind: "patient",
            now: now,
            lifetime: policy.patientSessionSeconds,
            idle: 0,
            context: context
        )
        try await audit.record(
            "patient_login",
            target: "account:\(accountId)",
            result: "success",
            context: context,
            actor: accountId,
            role: "patient",
            detail: created ? "registered" : ""
        )
        return tokens
    }

    // MARK: Staff: password, then TOTP

    struct MFAChallenge: Codable, Sendable {
        var mfaToken: String
        var expiresIn: Int64
        /// True when the account has no confirmed authenticator yet: call enrolment first.
        var enrolmentRequired: Bool
    }

    /// The password step. Limits first (per client, then overall), for clients the account
    /// has not signed in from (staff behind one hospital address are not limited by each
    /// other); they cost no hash. Every answer after them (unknown, locked, throttled, wrong,
    /// right) costs exactly one.
    func staffLogin(username: String, password: String, context: AppRequestContext) async throws -> MFAChallenge {
        let now = clock.seconds
        let client = context.clientIP
        let credentials = try await identity.staffCredentials(username: username, client: client, since: now - policy.recognisedClientSeconds)
        let recognised = credentials?.recognisedClient ?? false
        if !recognised, let wait = loginPerClient.take(ClientAddress.limitKey(client), nowMillis: nowMillis) {
            throw Self.signInRateLimited(retryAfter: wait)
        }
        if !recognised, let wait = loginGlobal.take("staff_login", nowMillis: nowMillis) {
            throw Self.signInRateLimited(retryAfter: wait)
        }
        let target = credentials.map { "account:\($0.accountId)" } ?? "username:\(username.prefix(64))"
        if let refusal = guardian.check(username: username, client: client, recognised: recognised, now: now, nowMillis: nowMillis) {
            _ = verifyPassword(password, against: decoyHash)
            switch refusal {
            case .locked(let until):
                try await audit.record(
                    "staff_login",
                    target: target,
                    result: "locked",
                    context: context,
                    actor: credentials?.accountId,
                    role: credentials == nil ? nil : "staff"
                )
                throw Self.locked(until: until, now: now)
            case .throttled(let wait):
                try await audit.record(
                    "staff_login",
                    target: target,
                    result: "throttled",
                    context: context,
                    actor: credentials?.accountId,
                    role: credentials == nil ? nil : "staff"
                )
                throw Self.accountThrottled(retryAfter: wait)
            }
        }
        guard let credentials else {
            _ = verifyPassword(password, against: decoyHash)
            try await failStaff(username: username, accountId: nil, recognised: false, action: "staff_login", context: context, now: now)
        }
        guard verifyPassword(password, against: credentials.passwordHash) else {
            try await failStaff(
                username: username,
                accountId: credentials.accountId,
                recognised: recognised,
                action: "staff_login",
                context: context,
                now: now
            )
        }
        if hasher.needsRehash(credentials.passwordHash) {
            try await identity.setPasswordHash(accountId: credentials.accountId, hash: try hasher.hash(password))
        }
        let token = Self.newToken("hcm")
        try await sessions.insertToken(
            hash: DataProtection.tokenHash(token),
            kind: .mfa,
            accountId: credentials.accountId,
            sessionId: nil,
            expiresAt: now + policy.mfaTokenSeconds,
            now: now
        )
        try await audit.record(
            "staff_login",
            target: "account:\(credentials.accountId)",
            result: "password_ok",
            context: context,
            actor: credentials.accountId,
            role: "staff"
        )
        return MFAChallenge(
            mfaToken: token,
            expiresIn: policy.mfaTokenSeconds,
            enrolmentRequired: !(credentials.totpConfirmed && credentials.totpSecret != nil)
        )
    }

    /// One PBKDF2 evaluation, also for a stored value that is not a hash (the decoy stands in).
    func verifyPassword(_ password: String, against stored: String) -> Bool {
        policy.onPasswordHash?()
        let wellFormed = stored.hasPrefix("pbkdf2-sm3$") && stored.split(separator: "$", omittingEmptySubsequences: false).count == 4
        let matches = hasher.verify(password, against: wellFormed ? stored : decoyHash)
        return wellFormed && matches
    }

    struct Enrolment: Codable, Sendable {
        var secret: String
        var otpauthUri: String
    }

    /// Gives an account without a confirmed authenticator a new TOTP secret; it is confirmed
    /// by the first correct code at `completeMFA`.
    func enrol(mfaToken: String, context: AppRequestContext) async throws -> Enrolment {
        let (accountId, _) = try await pendingMFA(mfaToken)
        guard let credentials = try await identity.staffCredentials(accountId: accountId) else { throw Self.invalidMFAToken }
        guard !(credentials.totpConfirmed && credentials.totpSecret != nil) else {
            throw APIError(
                .conflict,
                code: "already_enrolled",
                message: "This account already has an authenticator; ask an administrator to reset it."
            )
        }
        let secret = TOTP.generateSecret()
        try await identity.setTOTPSecret(accountId: accountId, secret: secret)
        let username = (try await identity.account(id: accountId))?.username ?? "account-\(accountId)"
        try await audit.record("totp_enrol", target: "account:\(accountId)", result: "issued", context: context, actor: accountId, role: "staff")
        return Enrolment(secret: Base32.encode(secret), otpauthUri: TOTP(secret: secret).provisioningURI(account: username, issuer: "HealthCloud"))
    }

    func completeMFA(mfaToken: String, code: String, context: AppRequestContext) async throws -> TokenPair {
        let now = clock.seconds
        let (accountId, hash) = try await pendingMFA(mfaToken)
        guard let username = try await identity.account(id: accountId)?.username,
            let credentials = try await identity.staffCredentials(
                username: username,
                client: context.clientIP,
                since: now - policy.recognisedClientSeconds
            ),
            let secret = credentials.totpSecret
        else {
            throw APIError(.conflict, code: "enrolment_required", message: "Enrol an authenticator first.")
        }
        // A wrong code counts like a wrong password: for this client, and for the username when
        // the client is not one the account signed in from (codes guessed from many addresses).
        let recognised = credentials.recognisedClient
        switch guardian.check(username: username, client: context.clientIP, recognised: recognised, now: now, nowMillis: nowMillis) {
        case .locked(let until): throw Self.locked(until: until, now: now)
        case .throttled(let wait): throw Self.accountThrottled(retryAfter: wait)
        case nil: break
        }
        guard let counter = TOTP(secret: secret).matchingCounter(for: code, at: clock.now),
            try await identity.acceptTOTPCounter(accountId: accountId, counter: counter, confirm: true)
        else {
            try await failStaff(
                username: username,
                accountId: accountId,
                recognised: recognised,
                action: "staff_mfa",
                context: context,
                now: now,
                code: "invalid_code",
                message: "The authenticator code is wrong."
            )
        }
        guard try await sessions.consume(hash: hash, now: now) else { throw Self.invalidMFAToken }
        guardian.succeed(username: username, client: context.clientIP)
        let tokens = try await openSession(
            accountId: accountId,
            kind: "staff",
            now: now,
            lifetime: policy.staffSessionSeconds,
            idle: policy.staffIdleSeconds,
            context: context
        )
        try await audit.record("staff_login", target: "account:\(accountId)", result: "success", context: context, actor: accountId, role: "staff")
        return tokens
    }

    private func pendingMFA(_ token: String) async throws -> (accountId: Int, hash: String) {
        let hash = DataProtection.tokenHash(token)
        guard let row = try await sessions.token(hash: hash), row.kind == .mfa, row.usedAt == nil, row.expiresAt > clock.seconds else {
            throw Self.invalidMFAToken
        }
        return (row.accountId, hash)
    }

    /// Counts a failure for (username, client) and, from a client the account has not signed
    /// in from, for the username. Sessions stay open: a failure proves nothing against the
    /// owner, and ending them would hand anyone who knows a username a way to sign its owner out.
    private func failStaff(
        username: String,
        accountId: Int?,
        recognised: Bool,
        action: String,
        context: AppRequestContext,
        now: Int64,
        code: String = "invalid_credentials",
        message: String = "The username or password is incorrect."
    ) async throws -> Never {
        let lockedUntil = guardian.fail(username: username, client: context.clientIP, recognised: recognised, now: now, nowMillis: nowMillis)
        let target = accountId.map { "account:\($0)" } ?? "username:\(username.prefix(64))"
        try await audit.record(
            action,
            target: target,
            result: lockedUntil == nil ? "failure" : "locked",
            context: context,
            actor: accountId,
            role: accountId == nil ? nil : "staff",
            detail: accountId == nil ? "unknown account" : ""
        )
        if let lockedUntil { throw Self.locked(until: lockedUntil, now: now) }
        throw APIError(.unauthorized, code: code, message: message)
    }

    // MARK: Sessions

    private func openSession(
        accountId: Int,
        kind: String,
        now: Int64,
        lifetime: Int64,
        idle: Int64,
        context: AppRequestContext
    ) async throws -> TokenPair {
        let sessionId = Base64URL.encode(SecureRandom.bytes(18))
        try await sessions.createSession(
            id: sessionId,
            accountId: accountId,
            kind: kind,
            now: now,
            expiresAt: now + lifetime,
            idleTimeout: idle,
            clientIP: context.clientIP
        )
        return try await issueTokens(accountId: accountId, sessionId: sessionId, sessionExpiresAt: now + lifetime, now: now)
    }

    private func issueTokens(accountId: Int, sessionId: String, sessionExpiresAt: Int64, now: Int64) async throws -> TokenPair {
        let access = Self.newToken("hca")
        let refresh = Self.newToken("hcr")
        let accessExpiry = min(now + policy.accessTokenSeconds, sessionExpiresAt)
        try await sessions.insertToken(
            hash: DataProtection.tokenHash(access),
            kind: .access,
            accountId: accountId,
            sessionId: sessionId,
            expiresAt: accessExpiry,
            now: now
        )
        try await sessions.insertToken(
            hash: DataProtection.tokenHash(refresh),
            kind: .refresh,
            accountId: accountId,
            sessionId: sessionId,
            expiresAt: sessionExpiresAt,
            now: now
        )
        return TokenPair(accessToken: access, refreshToken: refresh, expiresIn: accessExpiry - now)
    }

    /// Rotates the refresh token. A refresh token that was already used means it was copied:
    /// the whole session (every token of that sign-in) is revoked.
    func refresh(refreshToken: String, context: AppRequestContext) async throws -> TokenPair {
        let now = clock.seconds
        let hash = DataProtection.tokenHash(refreshToken)
        guard let token = try await sessions.token(hash: hash), token.kind == .refresh, let sessionId = token.sessionId,
            let session = try await sessions.session(id: sessionId)
        else { throw Self.invalidToken }
        if token.usedAt != nil {
            try await sessions.revokeSession(id: sessionId, reason: "refresh_token_reused", now: now)
            try await audit.record(
                "refresh_reuse",
                target: "session:\(sessionId.prefix(8))",
                result: "session_revoked",
                context: context,
                actor: token.accountId,
                role: "session-holder"
            )
            throw APIError(
                .unauthorized,
                code: "refresh_token_reused",
                message: "This refresh token was already used; the session is closed. Sign in again."
            )
        }
        try Self.checkSessionAlive(session, now: now)
        guard try await sessions.consume(hash: hash, now: now) else {
            try await sessions.revokeSession(id: sessionId, reason: "refresh_token_reused", now: now)
            throw APIError(.unauthorized, code: "refresh_token_reused", message: "This refresh token was already used; the session is closed.")
        }
        try await sessions.deleteAccessTokens(sessionId: sessionId)
        return try await issueTokens(accountId: token.accountId, sessionId: sessionId, sessionExpiresAt: session.expiresAt, now: now)
    }

    func logout(identity: Identity, context: AppRequestContext) async throws {
        try await sessions.revokeSession(id: identity.sessionId, reason: "logout", now: clock.seconds)
        try await audit.record("logout", target: "account:\(identity.accountId)", result: "success", context: context, identity: identity)
    }

    // MARK: Helpers

    private func codeHash(phone: String, code: String) -> String {
        database.protection.blindIndex("otp", "\(phone):\(code)")
    }

    static func newToken(_ prefix: String) -> String {
        "\(prefix)_\(Base64URL.encode(SecureRandom.bytes(32)))"
    }

    static func randomDigits(_ count: Int) -> String {
        // Rejection sampling over random bytes: no modulo bias.
        var digits = ""
        while digits.count < count {
            for byte in SecureRandom.bytes(count * 2) where byte < 250 && digits.count < count {
                digits.append(Character(String(byte % 10)))
            }
        }
        return digits
    }

    static let invalidCredentials = APIError(.unauthorized, code: "invalid_credentials", message: "The username or password is incorrect.")
    static let invalidToken = APIError(.unauthorized, code: "token_invalid", message: "The token is not valid. Sign in again.")
    static let invalidMFAToken = APIError(
        .unauthorized,
        code: "mfa_token_invalid",
        message: "The sign-in step has expired or is not valid; start again.",
        field: "mfaToken"
    )

    static func locked(until: Int64, now: Int64) -> APIError {
        APIError(
            HTTPResponse.Status(code: 423, reasonPhrase: "Locked"),
            code: "account_locked",
            message: "Too many failed attempts; the account is locked for \(max(1, (until - now + 59) / 60)) minutes.",
            headers: [.retryAfter: String(max(1, until - now))]
        )
    }

    static func rateLimited(retryAfter: Int64, field: String? = "phone") -> APIError {
        APIError(
            .tooManyRequests,
            code: "otp_rate_limited",
            message: "Too many codes requested; try again in \(max(1, retryAfter)) seconds.",
            field: field,
            headers: [.retryAfter: String(max(1, retryAfter))]
        )
    }

    /// Too many sign-in attempts from this client, or overall.
    static func signInRateLimited(retryAfter: Int64) -> APIError {
        APIError(
            .tooManyRequests,
            code: "sign_in_rate_limited",
            message: "Too many sign-in attempts; try again in \(max(1, retryAfter)) seconds.",
            headers: [.retryAfter: String(max(1, retryAfter))]
        )
    }

    /// Too many failures for this username from elsewhere: slowed for clients it has not signed in from.
    static func accountThrottled(retryAfter: Int64) -> APIError {
        APIError(
            .tooManyRequests,
            code: "sign_in_throttled",
            message: "Too many failed sign-ins for this username; try again in \(max(1, retryAfter)) seconds.",
            headers: [.retryAfter: String(max(1, retryAfter))]
        )
    }
}

extension IdentityService {
    static func checkSessionAlive(_ session: SessionRepository.Session, now: Int64) throws {
        if session.revokedAt != nil {
            throw APIError(
                .unauthorized,
                code: "session_revoked",
                message: "This session was closed (\(session.revokedReason ?? "revoked")). Sign in again."
            )
        }
        if session.expiresAt <= now {
            throw APIError(.unauthorized, code: "session_expired", message: "This session has ended. Sign in again.")
        }
        if session.idleTimeoutSeconds > 0, now - session.lastSeenAt > session.idleTimeoutSeconds {
            throw APIError(.unauthorized, code: "session_expired", message: "This session was idle for too long. Sign in again.")
        }
    }
}
