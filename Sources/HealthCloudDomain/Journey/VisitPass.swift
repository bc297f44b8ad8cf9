import Foundation

/// The claims of a visit pass (typ `visit` in the product's signed-token format): which
/// appointment, which site, when — and nothing about the person.
public struct VisitPassClaims: Sendable, Hashable {
    public static let type = "visit"
    /// A pass works from this long before its window until this long after it.
    public static let grace: Int64 = 30 * 60

    public var passId: String
    public var appointmentId: Int
    public var siteId: Int
    public var notBefore: Int64
    public var expiresAt: Int64
    /// When the pass was signed (`iat`), if read from a token: no scan can come before it.
    public var issuedAt: Int64?

    public init(passId: String, appointmentId: Int, siteId: Int, windowStart: Int64, windowEnd: Int64) {
        self.passId = passId
        self.appointmentId = appointmentId
        self.siteId = siteId
        self.notBefore = windowStart - Self.grace
        self.expiresAt = windowEnd + Self.grace
    }

    public init(passId: String, appointmentId: Int, siteId: Int, notBefore: Int64, expiresAt: Int64) {
        self.passId = passId
        self.appointmentId = appointmentId
        self.siteId = siteId
        self.notBefore = notBefore
        self.expiresAt = expiresAt
    }

    /// The claims the token carries besides `kid`, `typ`, `iat` and `exp`.
    public var claims: [String: any Sendable] {
        ["jti": passId, "apt": appointmentId, "site": siteId, "nbf": notBefore]
    }

    /// Reads verified claims; nil when one is missing or of the wrong kind.
    public init?(verified claims: [String: Any]) {
        func integer(_ key: String) -> Int64? {
            // JSONSerialization hands booleans over as NSNumber too (objCType "c"): not an id.
            guard let number = claims[key] as? NSNumber, String(cString: number.objCType) != "c",
                number.doubleValue.rounded() == number.doubleValue, abs(number.doubleValue) < 9e15
            else { return nil }
            return number.int64Value
        }
        guard let passId = claims["jti"] as? String, let appointment = integer("apt"), let site = integer("site"),
            let notBefore = integer("nbf"), let expiresAt = integer("exp")
        else { return nil }
        self.init(passId: passId, appointmentId: Int(appointment), siteId: Int(site), notBefore: notBefore, expiresAt: expiresAt)
        issuedAt = integer("iat")
    }
}
