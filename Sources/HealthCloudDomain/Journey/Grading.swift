import Foundation

/// A doctor's grading of a patient seen at a fever clinic or sentinel, and where it sends them.
public enum PatientGrade: String, Sendable, Hashable, Codable, CaseIterable {
    case mild, moderate, severe, critical

    public var routing: Routing {
        switch self {
        case .mild: .homeIsolation
        case .moderate: .districtHospital
        case .severe, .critical: .designatedHospital
        }
    }

    /// Days until the follow-up call, for those sent home.
    public var followUpDays: Int? { self == .mild ? 2 : nil }

    /// What the patient is told, in the notification and on the appointment.
    public var advice: String {
        switch self {
        case .mild: "轻型：居家隔离治疗，2天后社区医生电话随访；出现气促、高热不退请立即就医。Mild: isolate at home; a community doctor calls you in 2 days. Seek care at once if breathing gets hard or the fever does not fall."
        case .moderate: "中型：转区级医院住院治疗，请等待转运安排。Moderate: admitted to a district hospital; wait for the transfer."
        case .severe: "重型：转定点收治医院（市公共卫生临床中心），由120转运。Severe: transferred by ambulance to the designated infectious-disease hospital (Shanghai Public Health Clinical Center)."
        case .critical: "危重型：转定点收治医院重症监护，由120立即转运。Critical: immediate ambulance transfer to the designated infectious-disease hospital's ICU."
        }
    }
}

public enum Routing: String, Sendable, Hashable, Codable, CaseIterable {
    /// Home isolation with follow-up.
    case homeIsolation = "home_isolation"
    case districtHospital = "district_hospital"
    /// The designated infectious-disease hospital.
    case designatedHospital = "designated_hospital"
}

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
                  number.doubleValue.rounded() == number.doubleValue, abs(number.doubleValue) < 9e15 else { return nil }
            return number.int64Value
        }
        guard let passId = claims["jti"] as? String, let appointment = integer("apt"), let site = integer("site"),
              let notBefore = integer("nbf"), let expiresAt = integer("exp") else { return nil }
        self.init(passId: passId, appointmentId: Int(appointment), siteId: Int(site), notBefore: notBefore, expiresAt: expiresAt)
    }
}
