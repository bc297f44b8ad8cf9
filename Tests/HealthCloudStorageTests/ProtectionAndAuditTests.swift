import Foundation
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

@Suite struct PersonalDataAtRestTests {
    /// Raw rows hold no clear phone, ID number or name; the blind index finds them; the
    /// envelopes open with the key ring.
    @Test(arguments: TestEngine.available)
    func rawRowsHoldNoClearPersonalData(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let (id, created) = try await app.identity.findOrCreatePatient(phone: "13812345678", now: 1_700_000_000)
            #expect(created)
            try await app.identity.setRealName(accountId: id, name: "欧阳娜娜", idNumber: "11010519491231002x")
            #expect(try await app.identity.findOrCreatePatient(phone: "13812345678", now: 1).id == id)
            #expect(try await app.identity.patientId(idNumber: "11010519491231002X") == id)

            let rows = try await app.database.query("SELECT * FROM accounts", [])
            let dump = rows.flatMap(\.values).map { "\($0)" }.joined(separator: "|")
            for secret in ["13812345678", "11010519491231002", "欧阳娜娜", "12345678"] {
                #expect(!dump.contains(secret), "raw account rows contain \(secret)")
            }
            let personal = try #require(try await app.identity.personalData(accountId: id))
            #expect(personal == .init(name: "欧阳娜娜", phone: "13812345678", idNumber: "11010519491231002X"))
            #expect(try await app.identity.account(id: id)?.displayName == "欧***")
        }
    }

    @Test(arguments: TestEngine.available)
    func anEditedRoleAssignmentIsDetected(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            _ = try await DemoPipeline(steps: [OrganisationsStep()]).run(
                DemoContext(database: app, reference: try ReferenceData.bundled(), dataDirectory: NSTemporaryDirectory(), today: TestClock.start)
            )
            let id = try await app.identity.createStaff(
                username: "leader.x",
                displayName: "X",
                passwordHash: "-",
                totpSecret: nil,
                totpConfirmed: false,
                assignments: [RoleAssignment(role: .leader, scope: .district("310115"))],
                now: 1_700_000_000
            )
            #expect(try await app.identity.assignments(accountId: id).map(\.intact) == [true])
            // A DBA widens the scope behind the server's back.
            try await app.write { db in
                try await db.execute("UPDATE role_assignments SET scope = 'city' WHERE account_id = $1", [.integer(Int64(id))])
            }
            let after = try await app.identity.assignments(accountId: id)
            #expect(after.count == 1 && !after[0].intact)
        }
    }
}

@Suite struct AuditLogTests {
    static func fill(_ app: AppDatabase, rows: Int) async throws {
        for index in 1...rows {
            try await app.audit.append(
                AuditEntry(
                    at: Timestamp.iso8601(TestClock.now),
                    actorAccount: index % 7,
                    actorRole: "admin",
                    action: "pii_read",
                    target: "account:\(index)",
                    result: "success",
                    clientIP: "127.0.0.1",
                    requestID: "r\(index)",
                    detail: "phone"
                )
            )
        }
    }

    /// Lets the test play a DBA with full rights: the engine's append-only triggers go first.
    static func dropGuards(_ app: AppDatabase) async throws {
        try await app.write { db in
            switch db.dialect {
            case .sqlite:
                try await db.execute("DROP TRIGGER audit_log_no_update")
                try await db.execute("DROP TRIGGER audit_log_no_delete")
            case .postgresql:
                try await db.execute("DROP TRIGGER audit_log_no_change ON audit_log")
            }
        }
    }

    @Test(arguments: TestEngine.available)
    func anUntouchedLogVerifiesWithItsCheckpoints(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            try await Self.fill(app, rows: 230)
            #expect(try await app.audit.checkpoint(at: TestClock.now) == 230)
            let result = try await app.audit.verify(publicKeys: TestDatabase.keys.verificationKeys)
            #expect(result.intact, "\(result)")
            #expect(result.rows == 230)
            #expect(result.checkpoints == 3, "at 100, 200 and the explicit one at 230")
        }
    }

    @Test(arguments: TestEngine.available)
    func theEngineRefusesEditsToTheLog(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            try await Self.fill(app, rows: 3)
            await #expect(throws: DatabaseError.self) {
                try await app.write { db in try await db.execute("UPDATE audit_log SET result = 'failure' WHERE seq = 2") }
            }
            await #expect(throws: DatabaseError.self) {
                try await app.write { db in try await db.execute("DELETE FROM audit_log WHERE seq = 2") }
            }
        }
    }

    enum Tamper: String, CaseIterable, Sendable { case edit, delete, reorder, truncate, forgeCheckpoint }

    @Test(arguments: TestEngine.available, Tamper.allCases)
    func verifyFindsTheFirstBrokenLink(engine: TestEngine, tamper: Tamper) async throws {
        try await TestDatabase.with(engine) { app in
            try await Self.fill(app, rows: 120)
            // The server signs the head periodically; without a signature past row 110, a cut
            // tail with a rewritten head would be indistinguishable from a shorter log.
            #expect(try await app.audit.checkpoint(at: TestClock.now) == 120)
            try await Self.dropGuards(app)
            let expectedSeq: Int64
            try await app.write { db in
                switch tamper {
                case .edit:
                    try await db.execute("UPDATE audit_log SET detail = 'nothing to see' WHERE seq = 57")
                case .delete:
                    try await db.execute("DELETE FROM audit_log WHERE seq = 57")
                case .reorder:
                    // Swap the contents of rows 57 and 58 (keep their sequence numbers).
                    try await db.execute("UPDATE audit_log SET seq = -57 WHERE seq = 57")
                    try await db.execute("UPDATE audit_log SET seq = 57 WHERE seq = 58")
                    try await db.execute("UPDATE audit_log SET seq = 58 WHERE seq = -57")
                case .truncate:
                    try await db.execute("DELETE FROM audit_log WHERE seq > 110")
                    try await db.execute("UPDATE audit_head SET seq = 110, hash = (SELECT hash FROM audit_log WHERE seq = 110) WHERE id = 1")
                case .forgeCheckpoint:
                    try await db.execute(
                        "UPDATE audit_checkpoints SET signature = $1 WHERE seq = 100",
                        [.text(Base64URL.encode(try SM2PrivateKey.generate().signature(for: Array("x".utf8))))]
                    )
                }
            }
            switch tamper {
            case .edit, .delete, .reorder: expectedSeq = 57
            case .truncate: expectedSeq = 111
            case .forgeCheckpoint: expectedSeq = 100
            }
            let result = try await app.audit.verify(publicKeys: TestDatabase.keys.verificationKeys)
            #expect(!result.intact)
            #expect(result.firstBreak?.seq == expectedSeq, "\(tamper): \(result)")
        }
    }

    @Test(arguments: TestEngine.available)
    func concurrentAppendsKeepOneChain(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for index in 0..<25 {
                            try await app.audit.append(
                                AuditEntry(
                                    at: Timestamp.iso8601(TestClock.now),
                                    actorAccount: worker,
                                    actorRole: "doctor",
                                    action: "read",
                                    target: "patient:\(index)",
                                    result: "success"
                                )
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            let result = try await app.audit.verify(publicKeys: TestDatabase.keys.verificationKeys)
            #expect(result.intact && result.rows == 200, "\(result)")
        }
    }
}
