import Logging
import HTTPTypes
import Foundation

/// The numbers of the identity rules (MLPS level 3 asks for lockout, idle timeout and
/// two-factor sign-in for staff). All tunable; tests shorten them.
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
    public var lockoutThreshold = 5
    public var lockoutSeconds: Int64 = 15 * 60
    /// PBKDF2-HMAC-SM3 iterations for staff passwords.
    public var passwordIterations = 60_000

    public init() {}
}
