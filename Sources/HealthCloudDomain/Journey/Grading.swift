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
        case .mild:
            "轻型：居家隔离治疗，2天后社区医生电话随访；出现气促、高热不退请立即就医。Mild: isolate at home; a community doctor calls you in 2 days. Seek care at once if breathing gets hard or the fever does not fall."
        case .moderate: "中型：转区级医院住院治疗，请等待转运安排。Moderate: admitted to a district hospital; wait for the transfer."
        case .severe:
            "重型：转定点收治医院（市公共卫生临床中心），由120转运。Severe: transferred by ambulance to the designated infectious-disease hospital (Shanghai Public Health Clinical Center)."
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
