import Foundation
import HTTPTypes
import Logging

/// The numbers of the identity rules (MLPS level 3 asks for lockout, idle timeout and
/// two-factor sign-in for staff). All tunable; tests shorten them. docs/security.md lists
/// the sign-in limits with their settings.
public struct IdentityPolicy: Sendable {
    public var accessTokenSeconds: Int64 = 15 * 60
    /// How long a verified access token is remembered in memory (0: never). Bounds how late a
    /// sign-out or role change made through another instance is seen here.
    public var sessionCacheSeconds: Int64 = 2
    public var staffSessionSeconds: Int64 = 12 * 3600
    public var patientSessionSeconds: Int64 = 30 * 24 * 3600
    public var staffIdleSeconds: Int64 = 30 * 60
    public var mfaTokenSeconds: Int64 = 5 * 60
    public var otpSeconds: Int64 = 5 * 60
    public var otpResendSeconds: Int64 = 60
    public var otpPerHour = 5
    public var otpMaxAttempts = 5
    /// Failures in a row from one client that lock a username for that client
    /// (`HEALTHCLOUD_LOCKOUT_THRESHOLD`).
    public var lockoutThreshold = 5
    /// `HEALTHCLOUD_LOCKOUT_SECONDS`.
    public var lockoutSeconds: Int64 = 15 * 60
    /// Staff password attempts per client, for accounts that have not signed in from it
    /// (`HEALTHCLOUD_STAFF_LOGIN_PER_CLIENT`).
    public var staffLoginPerClient = RateLimit(60, per: 600)
    /// Staff password attempts from all clients that the account has not signed in from
    /// (`HEALTHCLOUD_STAFF_LOGIN_GLOBAL`): bounds password-hash CPU and distributed spraying.
    public var staffLoginGlobal = RateLimit(600, per: 60)
    /// Failures of one username from clients it has not signed in from before the username is
    /// throttled for them (`HEALTHCLOUD_ACCOUNT_FAILURES`): the slower, global throttle.
    public var accountFailures = RateLimit(20, per: 900)
    /// A client counts as the owner's when the account opened a session from it this recently.
    public var recognisedClientSeconds: Int64 = 30 * 24 * 3600
    /// Phone codes requested per client (`HEALTHCLOUD_OTP_PER_CLIENT`), over every phone.
    public var otpPerClient = RateLimit(30, per: 3600)
    /// Phone codes requested in all (`HEALTHCLOUD_OTP_GLOBAL`): the SMS budget.
    public var otpGlobal = RateLimit(1200, per: 3600)
    /// PBKDF2-HMAC-SM3 iterations for staff passwords.
    public var passwordIterations = 60_000
    /// Called once per password-hash evaluation at sign-in (tests count them to prove every
    /// answer costs the same).
    public var onPasswordHash: (@Sendable () -> Void)? = nil

    public init() {}

    /// Reads the sign-in limits' settings (`COUNT/SECONDS`, e.g. `30/300`).
    mutating func read(_ environment: [String: String]) throws {
        func limit(_ name: String, _ target: inout RateLimit) throws {
            guard let text = environment[name], !text.isEmpty else { return }
            guard let value = RateLimit(text) else {
                throw AppConfiguration.ConfigurationError.invalid(variable: name, value: text, expected: "COUNT/SECONDS, e.g. 30/300")
            }
            target = value
        }
        try limit("HEALTHCLOUD_STAFF_LOGIN_PER_CLIENT", &staffLoginPerClient)
        try limit("HEALTHCLOUD_STAFF_LOGIN_GLOBAL", &staffLoginGlobal)
        try limit("HEALTHCLOUD_ACCOUNT_FAILURES", &accountFailures)
        try limit("HEALTHCLOUD_OTP_PER_CLIENT", &otpPerClient)
        try limit("HEALTHCLOUD_OTP_GLOBAL", &otpGlobal)
        if let text = environment["HEALTHCLOUD_LOCKOUT_THRESHOLD"], !text.isEmpty {
            guard let value = Int(text), (1...100).contains(value) else {
                throw AppConfiguration.ConfigurationError.invalid(variable: "HEALTHCLOUD_LOCKOUT_THRESHOLD", value: text, expected: "1 to 100")
            }
            lockoutThreshold = value
        }
        if let text = environment["HEALTHCLOUD_LOCKOUT_SECONDS"], !text.isEmpty {
            guard let value = Int64(text), (1...86_400).contains(value) else {
                throw AppConfiguration.ConfigurationError.invalid(variable: "HEALTHCLOUD_LOCKOUT_SECONDS", value: text, expected: "1 to 86400")
            }
            lockoutSeconds = value
        }
    }
}
