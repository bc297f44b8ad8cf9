import Foundation
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage

/// Creates one account per role and scope — leaders of the city, a district and a hospital,
/// reporters, doctors, a pharmacist, a kiosk, volunteers, administrators, patients — and writes
/// their credentials to `demo-accounts.json` (mode 0600) in the data directory: staff as
/// `{role, scope, username, password, totpSecret}`, patients as `{role, scope, phone, name}`.
public struct AccountsStep: DemoStep {
    public let name = "accounts"
    public let title = "Accounts: one per role and scope (demo-accounts.json)"

    public init() {}

    public struct StaffAccount: Codable, Sendable, Equatable {
        public var role: String
        public var scope: String
        public var username: String
        public var password: String
        /// Base32, as authenticator apps and pyotp take it.
        public var totpSecret: String
        public var displayName: String
    }

    public struct PatientAccount: Codable, Sendable, Equatable {
        public var role: String
        public var scope: String
        public var phone: String
        public var name: String
        public var idNumber: String
    }

    public static let fileName = "demo-accounts.json"

    public func run(_ context: DemoContext, progress: any DemoProgress) async throws -> String {
        let demo = context.database.demo
        func campus(_ institution: String, _ campus: String) async throws -> Int {
            guard let id = try await demo.campusId(institution: institution, campus: campus) else {
                throw DemoError("campus \(institution) \(campus) is missing; run the organisations step first")
            }
            return id
        }
        func feverClinic(of campusId: Int) async throws -> Int {
            guard let id = try await demo.feverClinic(ofCampus: campusId) else { throw DemoError("campus \(campusId) has no fever clinic") }
            return id
        }
        let ruijin = try await campus("上海交通大学医学院附属瑞金医院", "总院")
        let publicHealth = try await campus("上海市公共卫生临床中心", "金山院区")
        let pudongPeople = try await campus("浦东新区人民医院", "本部")
        let ruijinFever = try await feverClinic(of: ruijin)

        let plan: [(String, Role, Scope, String)] = [
            ("admin", .admin, .city, "市级系统管理员"),
            ("admin.pudong", .admin, .district("310115"), "浦东新区系统管理员"),
            ("leader.city", .leader, .city, "市卫健委领导"),
            ("leader.pudong", .leader, .district("310115"), "浦东新区卫健委领导"),
            ("leader.huangpu", .leader, .district("310101"), "黄浦区卫健委领导"),
            ("leader.ruijin", .leader, .campus(ruijin), "瑞金医院院领导"),
            ("reporter.ruijin", .reporter, .campus(ruijin), "瑞金医院直报员"),
            ("reporter.pudong-people", .reporter, .campus(pudongPeople), "浦东新区人民医院直报员"),
            ("reporter.pudong", .reporter, .district("310115"), "浦东新区审核员"),
            ("reporter.huangpu", .reporter, .district("310101"), "黄浦区审核员"),
            ("reporter.city", .reporter, .city, "市卫健委数据审核员"),
            ("doctor.ruijin", .doctor, .campus(ruijin), "瑞金医院发热门诊医生"),
            ("doctor.phc", .doctor, .campus(publicHealth), "市公共卫生临床中心医生"),
            ("pharmacist.ruijin", .pharmacist, .campus(ruijin), "瑞金医院药师"),
            ("kiosk.ruijin-fever", .kiosk, .site(ruijinFever), "瑞金医院发热门诊自助机"),
            ("volunteer.1", .volunteer, .district("310115"), "志愿者 1"),
            ("volunteer.2", .volunteer, .district("310104"), "志愿者 2"),
        ]
        progress.setTotal(plan.count + 3)
        let hasher = PasswordHasher(iterations: context.passwordIterations)
        let now = Int64(context.today.timeIntervalSince1970)
        var staff: [StaffAccount] = []
        for (username, role, scope, displayName) in plan {
            let password = Self.randomPassword()
            let secret = TOTP.generateSecret()
            _ = try await context.database.identity.createStaff(
                username: username,
                displayName: displayName,
                passwordHash: try hasher.hash(password),
                totpSecret: secret,
                totpConfirmed: true,
                assignments: [RoleAssignment(role: role, scope: scope)],
                now: now
            )
            staff.append(
                StaffAccount(
                    role: role.rawValue,
                    scope: scope.description,
                    username: username,
                    password: password,
                    totpSecret: Base32.encode(secret),
                    displayName: displayName
                )
            )
            progress.advance(by: 1)
        }

        let people: [(phone: String, name: String, region: String, birth: String)] = [
            ("13800138000", "张伟", "310115", "19850412"),
            ("13912345678", "王芳", "310104", "19920708"),
            ("13700001234", "李娜", "310101", "19480215"),
        ]
        var patients: [PatientAccount] = []
        for (index, person) in people.enumerated() {
            let (id, _) = try await context.database.identity.findOrCreatePatient(phone: person.phone, now: now)
            let idNumber = Self.idNumber(region: person.region, birth: person.birth, sequence: 100 + index * 7)
            try await context.database.identity.setRealName(accountId: id, name: person.name, idNumber: idNumber)
            patients.append(
                PatientAccount(role: "patient", scope: Scope.patient(id).description, phone: person.phone, name: person.name, idNumber: idNumber)
            )
            progress.advance(by: 1)
        }

        let file = URL(fileURLWithPath: context.dataDirectory).appendingPathComponent(Self.fileName)
        try Self.write(staff: staff, patients: patients, to: file)
        return "\(staff.count) staff and \(patients.count) patient accounts; credentials in \(file.path)"
    }

    /// The file is a JSON array of staff and patient entries, readable only by its owner.
    static func write(staff: [StaffAccount], patients: [PatientAccount], to file: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var entries: [Any] = []
        for account in staff { entries.append(try JSONSerialization.jsonObject(with: encoder.encode(account))) }
        for account in patients { entries.append(try JSONSerialization.jsonObject(with: encoder.encode(account))) }
        let data = try JSONSerialization.data(withJSONObject: entries, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try? FileManager.default.removeItem(at: file)
        guard FileManager.default.createFile(atPath: file.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw DemoError("cannot write \(file.path)")
        }
    }

    /// 16 characters with all four classes.
    static func randomPassword() -> String {
        "Hc7-" + Base64URL.encode(SecureRandom.bytes(9))
    }

    /// A syntactically valid resident ID number (region, birth date, sequence, check character).
    static func idNumber(region: String, birth: String, sequence: Int) -> String {
        let body = region + birth + String(format: "%03d", sequence % 1000)
        let check = PersonalData.idCheckCharacter(body.compactMap { $0.wholeNumberValue })
        return body + String(UnicodeScalar(check))
    }
}

struct DemoError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
