import HealthCloudCrypto
import HealthCloudDomain

/// How personal data and access-control rows are protected at rest: SM4 envelopes for the
/// values, HMAC-SM3 blind indexes for lookup, HMAC-SM3 seals on role assignments.
public struct DataProtection: Sendable {
    public let keys: KeyMaterial

    public init(keys: KeyMaterial) {
        self.keys = keys
    }

    public func seal(_ text: String) throws -> String {
        try keys.fields.seal(text)
    }

    public func open(_ envelope: String) throws -> String {
        try keys.fields.openString(envelope)
    }

    /// A deterministic keyed digest for equality lookup of an encrypted value. The purpose
    /// is part of the input, so a phone index never equals an ID-number index.
    public func blindIndex(_ purpose: String, _ value: String) -> String {
        Hex.encode(HMAC.authenticationCode(for: Array("\(purpose)\u{0}\(value)".utf8), key: keys.blindIndexKey))
    }

    /// The seal of a role assignment row: any edit to who, what, where or when breaks it.
    public func assignmentMAC(accountId: Int, role: Role, scope: Scope, grantedAt: Int64) -> String {
        let content = "ra1\u{0}\(accountId)\u{0}\(role.rawValue)\u{0}\(scope)\u{0}\(grantedAt)"
        return Hex.encode(HMAC.authenticationCode(for: Array(content.utf8), key: keys.integrityKey))
    }

    /// SM3 of a bearer token, as stored: a database leak yields no usable token.
    public static func tokenHash(_ token: String) -> String {
        Hex.encode(SM3.hash(Array(token.utf8)))
    }
}
