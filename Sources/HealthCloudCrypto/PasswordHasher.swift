/// Password storage: PBKDF2-HMAC-SM3 with a random 16-byte salt per password, written
/// `pbkdf2-sm3$<iterations>$<salt>$<hash>` (base64url) so the cost can rise over time
/// while old hashes still verify.
public struct PasswordHasher: Sendable {
    public var iterations: Int

    public init(iterations: Int) {
        self.iterations = iterations
    }

    public func hash(_ password: String) throws -> String {
        let salt = SecureRandom.bytes(16)
        let derived = try PBKDF2.deriveKey(password: Array(password.utf8), salt: salt, iterations: iterations, length: 32)
        return "pbkdf2-sm3$\(iterations)$\(Base64URL.encode(salt))$\(Base64URL.encode(derived))"
    }

    /// Whether `password` matches `stored`; false for any malformed stored value.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "pbkdf2-sm3", let iterations = Int(parts[1]), (1...10_000_000).contains(iterations),
            let salt = Base64URL.decode(String(parts[2])), let expected = Base64URL.decode(String(parts[3])), expected.count == 32,
            let derived = try? PBKDF2.deriveKey(password: Array(password.utf8), salt: salt, iterations: iterations, length: 32)
        else { return false }
        return constantTimeEquals(derived, expected)
    }

    /// Whether a stored hash used fewer iterations than now configured (rehash on next sign-in).
    public func needsRehash(_ stored: String) -> Bool {
        let parts = stored.split(separator: "$")
        return parts.count == 4 && (Int(parts[1]) ?? 0) < iterations
    }
}
