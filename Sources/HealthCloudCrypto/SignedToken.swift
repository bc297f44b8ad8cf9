import Foundation

/// The product's one signed-token format, for visit passes, prescriptions and certificates:
///
///     HCP1.<payload>.<signature>
///
/// `payload` is base64url (no padding) of a JSON object with at least `kid`, `typ`, `iat`
/// and `exp`; `signature` is base64url of the DER SM2 signature (SM3, ID 1234567812345678)
/// over the ASCII bytes `HCP1.<payload>`. Anyone with the published public keys
/// (`GET /api/v1/keys`) verifies it offline. See docs/signed-tokens.md.
public enum SignedToken {
    public static let prefix = "HCP1"

    public enum VerificationError: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case unknownKey(String)
        case badSignature
        case expired(Int64)
        case notYetValid(Int64)
        case wrongType(expected: String, found: String)

        public var description: String {
            switch self {
            case .malformed(let why): "malformed token: \(why)"
            case .unknownKey(let kid): "signed by an unknown key \(kid)"
            case .badSignature: "the signature does not match"
            case .expired(let at): "expired at \(at)"
            case .notYetValid(let from): "not valid before \(from)"
            case .wrongType(let expected, let found): "a \(found) token, expected \(expected)"
            }
        }
    }

    /// Signs `claims` (a JSON object) after adding `kid`, `typ`, `iat` and `exp`.
    /// `nbf` may be set by the caller in `claims`.
    public static func sign(
        claims: [String: any Sendable],
        type: String,
        issuedAt: Date,
        expiresAt: Date,
        key: SM2PrivateKey,
        keyID: String
    ) throws -> String {
        var object: [String: Any] = claims
        object["kid"] = keyID
        object["typ"] = type
        object["iat"] = Int64(issuedAt.timeIntervalSince1970.rounded(.down))
        object["exp"] = Int64(expiresAt.timeIntervalSince1970.rounded(.down))
        let json = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        let signingInput = "\(prefix).\(Base64URL.encode(json))"
        let signature = try key.signature(for: Array(signingInput.utf8))
        return "\(signingInput).\(Base64URL.encode(signature))"
    }

    /// Verifies the signature with the key its `kid` names, then the validity window; returns the claims.
    public static func verify(
        _ token: String,
        publicKeys: [String: SM2PublicKey],
        now: Date,
        expectedType: String? = nil,
        leeway: Int64 = 0
    ) throws -> [String: Any] {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == prefix else { throw VerificationError.malformed("expected HCP1.<payload>.<signature>") }
        guard let payload = Base64URL.decode(String(parts[1])), let signature = Base64URL.decode(String(parts[2])) else {
            throw VerificationError.malformed("payload or signature is not base64url")
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any] else {
            throw VerificationError.malformed("payload is not a JSON object")
        }
        guard let kid = object["kid"] as? String, let type = object["typ"] as? String,
            let exp = (object["exp"] as? NSNumber)?.int64Value, (object["iat"] as? NSNumber) != nil
        else { throw VerificationError.malformed("kid, typ, iat and exp are required") }
        guard let key = publicKeys[kid] else { throw VerificationError.unknownKey(kid) }
        guard key.isValidSignature(signature, for: Array("\(prefix).\(parts[1])".utf8)) else {
            throw VerificationError.badSignature
        }
        if let expectedType, type != expectedType { throw VerificationError.wrongType(expected: expectedType, found: type) }
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        if let nbf = (object["nbf"] as? NSNumber)?.int64Value, seconds + leeway < nbf { throw VerificationError.notYetValid(nbf) }
        if seconds - leeway >= exp { throw VerificationError.expired(exp) }
        return object
    }
}
