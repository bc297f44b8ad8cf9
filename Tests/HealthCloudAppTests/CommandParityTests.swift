import Foundation
import HTTPTypes
import HealthCloudApp
import HealthCloudCrypto
import HealthCloudDemo
import HealthCloudDomain
import HealthCloudStorage
import HealthCloudSync
import HealthCloudTestSupport
import HummingbirdTesting
import NIOCore
import Testing

/// The four commands that have a sync mutation (submitReport, acknowledgeWarning,
/// submitPreCheck, markNotificationRead), each sent through REST and through sync on both
/// engines: the same effect, the same error code for the same bad input, and one audit row
/// of the command's action each time it decides (a sync one marked `sync <clientId>#<id>`).
/// Input refused before the command runs (a malformed field) leaves no row on either door.
/// And a submission whose audit append fails leaves neither the report nor a row behind.
@Suite struct CommandParityTests {
    /// The demo's organisations, accounts and catalog: no report history, so every test's days are free.
    static let pipeline = DemoPipeline.forTests
    static let warningsPipeline = DemoPipeline(steps: [OrganisationsStep(), AccountsStep(), CatalogStep(), OpenWarningsStep()])

    static var today: Day { Day(shanghaiTimeOf: Int64(TestClock.now.timeIntervalSince1970)) }

    // MARK: Helpers

    /// A JSON value of a test body. `decimalsAsStrings`: as a sync payload carries decimals (SPEC.md §5).
    static func value(_ any: Any, decimalsAsStrings: Bool = false) -> JSONValue {
        switch any {
        case let flag as Bool: .bool(flag)
        case let number as Int: .integer(Int64(number))
        case let number as Double: decimalsAsStrings ? .string(String(number)) : .number(number)
        case let text as String: .string(text)
        case let array as [Any]: .array(array.map { value($0, decimalsAsStrings: decimalsAsStrings) })
        case let object as [String: Any]: .object(object.mapValues { value($0, decimalsAsStrings: decimalsAsStrings) })
        default: .null
        }
    }

    /// One mutation pushed alone; its result.
    static func push(
        _ client: any TestClientProtocol,
        token: String,
        clientId: String,
        id: Int64,
        _ name: String,
        _ args: [String: JSONValue]
    ) async throws -> MutationResult {
        let response = try await SyncTests.push(client, token: token, clientId: clientId, [Mutation(id: id, name: name, args: .object(args))])
        #expect(response.status == .ok, "\(String(buffer: response.body))")
        let results = try SyncTests.results(response)
        try #require(results.count == 1 && results[0].id == id, "\(results)")
        return results[0]
    }

    /// The audit rows written after `seq`; moves `seq` past them.
    static func newRows(_ location: DatabaseLocation, after seq: inout Int64) async throws -> [AuditLog.Record] {
        let from = seq
        let rows = try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.audit.records(after: from, limit: 100_000)
        }
        seq = rows.last?.seq ?? seq
        return rows
    }

    static func lastSeq(_ location: DatabaseLocation) async throws -> Int64 {
        var seq: Int64 = 0
        _ = try await newRows(location, after: &seq)
        return seq
    }

    static func auditRows(_ location: DatabaseLocation) async throws -> Int {
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await rawScalar("SELECT COUNT(*) FROM audit_log", on: database)
        }
    }

    static func chainIntact(_ location: DatabaseLocation) async throws -> Bool {
        try await location.withAppDatabase(logger: TestDatabase.logger, keys: TestDatabase.keys) { database in
            try await database.audit.verify(publicKeys: TestDatabase.keys.verificationKeys).intact
        }
    }

    /// Exactly one row of `action` among `rows` (and no other row of the command's action),
    /// with `result`, from the door `sync` names (`"<clientId>#<mutationId>"`, nil for REST).
    static func expectOneRow(
        _ rows: [AuditLog.Record],
        _ action: String,
        result: String,
        target: String? = nil,
        sync: String?,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let mine = rows.filter { $0.entry.action == action }
        #expect(mine.count == 1, "\(what): \(mine.count) \(action) rows: \(rows.map(\.entry))", sourceLocation: sourceLocation)
        guard let row = mine.first?.entry else { return }
        #expect(row.result == result, "\(what): result \(row.result)", sourceLocation: sourceLocation)
        if let target { #expect(row.target == target, "\(what): target \(row.target)", sourceLocation: sourceLocation) }
        if let sync {
            let marked = row.detail == "sync \(sync)" || row.detail.hasPrefix("sync \(sync); ")
            #expect(marked, "\(what): detail \(row.detail)", sourceLocation: sourceLocation)
        } else {
            #expect(!row.detail.hasPrefix("sync "), "\(what): a REST row, detail \(row.detail)", sourceLocation: sourceLocation)
        }
    }

    /// No row of `action` among `rows`.
    static func expectNoRow(_ rows: [AuditLog.Record], _ action: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!rows.contains { $0.entry.action == action }, "\(what): \(rows.map(\.entry))", sourceLocation: sourceLocation)
    }

    /// A REST refusal: `status` and `code`, and the sync result of the same input rejected with the same code.
    static func expectSameRefusal(
        _ rest: TestResponse,
        _ sync: MutationResult,
        status: HTTPResponse.Status,
        code: String,
        _ what: String,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(rest.status == status, "\(what): REST \(rest.status) \(String(buffer: rest.body))", sourceLocation: sourceLocation)
        #expect((try? rest.apiError().code) == code, "\(what): REST \(String(buffer: rest.body))", sourceLocation: sourceLocation)
        #expect(sync.status == .rejected && sync.code == code, "\(what): sync \(sync)", sourceLocation: sourceLocation)
    }

    // MARK: submitReport

    @Test(arguments: TestEngine.available)
    func submitReportDoesTheSameThroughBothDoors(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin")).access
            let campus = try ReportingTests.campus(accounts, "reporter.ruijin")
            let foreignCampus = try ReportingTests.campus(accounts, "reporter.pudong-people")
            try #require(campus != foreignCampus)
            let device = "device-parity-reports"
            var mutationId: Int64 = 0
            func push(_ args: [String: JSONValue]) async throws -> MutationResult {
                mutationId += 1
                return try await Self.push(client, token: reporter, clientId: device, id: mutationId, "submitReport", args)
            }
            func args(_ campusId: Int, _ date: Day, _ body: [String: Any], reason: String? = nil) -> [String: JSONValue] {
                var args: [String: JSONValue] = [
                    "campusId": .integer(Int64(campusId)), "date": .string(date.description), "report": Self.value(body),
                ]
                if let reason { args["correctionReason"] = .string(reason) }
                return args
            }
            func put(_ campusId: Int, _ date: Day, _ body: [String: Any], reason: String? = nil) async throws -> TestResponse {
                var body = body
                if let reason { body["correctionReason"] = reason }
                return try await client.send(.put, "/api/v1/reports/\(campusId)/\(date)", token: reporter, json: body)
            }
            // Two days whose first versions are late whatever the hour of the test clock (the
            // deadline is 10:00 on the next day), so both are judged alike.
            let (restDay, syncDay, brokenDay) = (Self.today - 2, Self.today - 3, Self.today - 1)
            let report = ReportingTests.report()
            var seq = try await Self.lastSeq(location)

            // Accepted: one through each door, both the campus-day's version 1 with the same status and findings.
            let put1 = try await put(campus, restDay, report)
            #expect(put1.status == .created, "\(String(buffer: put1.body))")
            let restStatus = try put1.json()["status"] as? String
            #expect(try put1.json()["version"] as? Int == 1)
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "report_submit",
                result: try #require(restStatus),
                target: "report:\(campus)/\(restDay)",
                sync: nil,
                "REST accepted"
            )
            let pushed = try await push(args(campus, syncDay, report))
            #expect(pushed.status == .applied && pushed.code == nil, "\(pushed)")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "report_submit",
                result: try #require(restStatus),
                target: "report:\(campus)/\(syncDay)",
                sync: "\(device)#\(mutationId)",
                "sync accepted"
            )
            func stored(_ day: Day) async throws -> [String: Any] {
                let response = try await client.get("/api/v1/reports/\(campus)/\(day)", token: reporter)
                #expect(response.status == .ok, "\(day): \(String(buffer: response.body))")
                return try response.json()
            }
            func findingRules(_ view: [String: Any]) -> [String] {
                ((view["current"] as? [String: Any])?["findings"] as? [[String: Any]] ?? []).compactMap { $0["rule"] as? String }.sorted()
            }
            let viaREST = try await stored(restDay)
            let viaSync = try await stored(syncDay)
            let restCurrent = try #require(viaREST["current"] as? [String: Any])
            let syncCurrent = try #require(viaSync["current"] as? [String: Any])
            #expect(restCurrent["version"] as? Int == 1 && syncCurrent["version"] as? Int == 1)
            #expect(restCurrent["status"] as? String == restStatus && syncCurrent["status"] as? String == restStatus, "\(syncCurrent)")
            #expect(findingRules(viaREST) == findingRules(viaSync) && findingRules(viaREST).contains("late"))
            #expect(restCurrent["late"] as? Bool == true && syncCurrent["late"] as? Bool == true)
            #expect(Self.value(try #require(restCurrent["report"])) == Self.value(try #require(syncCurrent["report"])), "the same stored report")
            #expect((viaSync["versions"] as? [[String: Any]])?.first?["submittedBy"] as? Int != nil)

            // A correction reason over 500 characters: invalid_field before anything is judged; no row.
            let long = String(repeating: "更", count: 501)
            let restLong = try await put(campus, restDay, report, reason: long)
            let syncLong = try await push(args(campus, restDay, report, reason: long))
            Self.expectSameRefusal(restLong, syncLong, status: .badRequest, code: "invalid_field", "long correction reason")
            #expect(try restLong.apiError().field == "correctionReason")
            Self.expectNoRow(try await Self.newRows(location, after: &seq), "report_submit", "invalid_field is no decision")

            // A report breaking quality control (occupied ICU beds above the total): report_rejected, one row each, nothing stored.
            let broken = ReportingTests.report(bedsOccupied: 45)
            let restBroken = try await put(campus, brokenDay, broken)
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "report_submit",
                result: "rejected",
                target: "report:\(campus)/\(brokenDay)",
                sync: nil,
                "REST rejected"
            )
            let syncBroken = try await push(args(campus, brokenDay, broken))
            Self.expectSameRefusal(restBroken, syncBroken, status: .unprocessableContent, code: "report_rejected", "QC error")
            #expect(syncBroken.message?.contains("icu.bedsOccupied") == true, "\(syncBroken)")
            let restFields = (try restBroken.json()["findings"] as? [[String: Any]] ?? []).filter { $0["severity"] as? String == "error" }
                .compactMap { $0["field"] as? String }
            #expect(restFields == ["icu.bedsOccupied"], "\(restFields)")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "report_submit",
                result: "rejected",
                target: "report:\(campus)/\(brokenDay)",
                sync: "\(device)#\(mutationId)",
                "sync rejected"
            )
            let brokenStored = try await client.get("/api/v1/reports/\(campus)/\(brokenDay)", token: reporter)
            #expect(try brokenStored.status == .notFound && brokenStored.apiError().code == "report_not_found")

            // A second submission of an existing day without a reason, on each door (each door's day and the other's).
            let changed = ReportingTests.report(emergency: 260)
            for (day, door) in [(restDay, "REST's day"), (syncDay, "sync's day")] {
                let rest = try await put(campus, day, changed)
                Self.expectOneRow(
                    try await Self.newRows(location, after: &seq),
                    "report_submit",
                    result: "correction_reason_required",
                    sync: nil,
                    "REST correction, \(door)"
                )
                let sync = try await push(args(campus, day, changed))
                Self.expectOneRow(
                    try await Self.newRows(location, after: &seq),
                    "report_submit",
                    result: "correction_reason_required",
                    sync: "\(device)#\(mutationId)",
                    "sync correction, \(door)"
                )
                Self.expectSameRefusal(rest, sync, status: .unprocessableContent, code: "correction_reason_required", "no reason, \(door)")
                #expect(try rest.apiError().field == "correctionReason")
            }

            // A campus outside the reporter's scope: forbidden_scope on both doors. REST's route
            // access answers first (its own access_refused row); the mutation is refused by the command.
            let restForeign = try await put(foreignCampus, restDay, report)
            let restForeignRows = try await Self.newRows(location, after: &seq)
            Self.expectNoRow(restForeignRows, "report_submit", "REST forbidden")
            #expect(
                restForeignRows.map(\.entry.action) == ["access_refused"] && restForeignRows.first?.entry.result == "forbidden_scope",
                "\(restForeignRows.map(\.entry))"
            )
            let syncForeign = try await push(args(foreignCampus, restDay, report))
            Self.expectSameRefusal(restForeign, syncForeign, status: .forbidden, code: "forbidden_scope", "another campus")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "report_submit",
                result: "forbidden_scope",
                target: "report:\(foreignCampus)/\(restDay)",
                sync: "\(device)#\(mutationId)",
                "sync forbidden"
            )
            let pudong = try await client.signIn(try accounts.staff("reporter.pudong-people")).access
            let foreignStored = try await client.get("/api/v1/reports/\(foreignCampus)/\(restDay)", token: pudong)
            #expect(try foreignStored.status == .notFound && foreignStored.apiError().code == "report_not_found")

            // None of the refusals changed what was accepted.
            for day in [restDay, syncDay] {
                let view = try await stored(day)
                #expect((view["versions"] as? [[String: Any]])?.count == 1, "\(day): \(view["versions"] ?? "")")
                #expect((view["current"] as? [String: Any])?["version"] as? Int == 1)
            }
            #expect(try await Self.chainIntact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: acknowledgeWarning

    @Test(arguments: TestEngine.available)
    func acknowledgeWarningDoesTheSameThroughBothDoors(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.warningsPipeline, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let city = try await client.signIn(try accounts.staff("leader.city")).access
            let device = "device-parity-warnings"
            var mutationId: Int64 = 0
            func push(_ warning: Int, note: String) async throws -> MutationResult {
                mutationId += 1
                return try await Self.push(
                    client,
                    token: city,
                    clientId: device,
                    id: mutationId,
                    "acknowledgeWarning",
                    ["warningId": .integer(Int64(warning)), "note": .string(note)]
                )
            }
            func ack(_ warning: Int, note: String) async throws -> TestResponse {
                try await client.send(.post, "/api/v1/warnings/\(warning)/ack", token: city, json: ["note": note])
            }
            func warning(_ id: Int) async throws -> (warning: [String: Any], events: [String]) {
                let response = try await client.get("/api/v1/warnings/\(id)", token: city)
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                let body = try response.json()
                return (
                    try #require(body["warning"] as? [String: Any]),
                    (body["events"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
                )
            }
            let list = try await client.get("/api/v1/warnings?scope=city&status=open&limit=1000", token: city)
            let open = (try list.json()["warnings"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }.sorted()
            try #require(open.count >= 3, "the pipeline opens warnings: \(open)")
            let (w1, w2, w3) = (open[0], open[1], open[2])
            var seq = try await Self.lastSeq(location)

            // One through each door: both acknowledged with their notes, one event each.
            let rest = try await ack(w1, note: "已增开床位")
            #expect(rest.status == .ok, "\(String(buffer: rest.body))")
            #expect(try rest.json()["status"] as? String == "acknowledged")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "warning_ack",
                result: "success",
                target: "warning:\(w1)",
                sync: nil,
                "REST ack"
            )
            let sync = try await push(w2, note: "已通知区卫健委")
            #expect(sync.status == .applied && sync.code == nil, "\(sync)")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "warning_ack",
                result: "success",
                target: "warning:\(w2)",
                sync: "\(device)#\(mutationId)",
                "sync ack"
            )
            for (id, note) in [(w1, "已增开床位"), (w2, "已通知区卫健委")] {
                let (stored, events) = try await warning(id)
                #expect(stored["status"] as? String == "acknowledged", "warning \(id): \(stored)")
                #expect(stored["acknowledgementNote"] as? String == note)
                #expect(stored["acknowledgedBy"] as? Int != nil && stored["acknowledgedAt"] as? Int != nil)
                #expect(events.filter { $0 == "acknowledged" }.count == 1, "warning \(id): \(events)")
            }

            // Again, each door on the other door's warning: already_acknowledged, one row each.
            let restAgain = try await ack(w2, note: "再次确认")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "warning_ack",
                result: "already_acknowledged",
                target: "warning:\(w2)",
                sync: nil,
                "REST again"
            )
            let syncAgain = try await push(w1, note: "再次确认")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "warning_ack",
                result: "already_acknowledged",
                target: "warning:\(w1)",
                sync: "\(device)#\(mutationId)",
                "sync again"
            )
            Self.expectSameRefusal(restAgain, syncAgain, status: .conflict, code: "already_acknowledged", "acknowledged twice")
            for id in [w1, w2] {
                #expect(try await warning(id).events.filter { $0 == "acknowledged" }.count == 1, "warning \(id) acknowledged once")
            }

            // An empty note: invalid_field on both, before anything is decided: no row, the warning still open.
            let restEmpty = try await ack(w3, note: "")
            let syncEmpty = try await push(w3, note: "")
            Self.expectSameRefusal(restEmpty, syncEmpty, status: .badRequest, code: "invalid_field", "empty note")
            #expect(try restEmpty.apiError().field == "note")
            Self.expectNoRow(try await Self.newRows(location, after: &seq), "warning_ack", "an empty note is no decision")
            #expect(try await warning(w3).warning["status"] as? String == "open")
            #expect(try await Self.chainIntact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: submitPreCheck

    @Test(arguments: TestEngine.available)
    func submitPreCheckDoesTheSameThroughBothDoors(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, sms: sms, dataDirectory: directory) { client, location in
            let patient = try await JourneyTests.patient(client, sms: sms, phone: JourneyTests.phone(900))
            let device = "phone-parity-precheck"
            var mutationId: Int64 = 0
            func push(version: Int, answers: [String: Any]) async throws -> MutationResult {
                mutationId += 1
                return try await Self.push(
                    client,
                    token: patient,
                    clientId: device,
                    id: mutationId,
                    "submitPreCheck",
                    ["questionnaireVersion": .integer(Int64(version)), "answers": Self.value(answers, decimalsAsStrings: true)]
                )
            }
            func post(version: Int, answers: [String: Any]) async throws -> TestResponse {
                try await client.send(.post, "/api/v1/prechecks", token: patient, json: ["questionnaireVersion": version, "answers": answers])
            }
            var answers = JourneyTests.feverAnswers
            answers["temperature"] = 38.8
            var seq = try await Self.lastSeq(location)

            // The same answers through each door: the same triage stored.
            let rest = try await post(version: 1, answers: answers)
            #expect(rest.status == .created, "\(String(buffer: rest.body))")
            let restId = try #require(try rest.json()["id"] as? Int)
            let restLevel = try #require(try rest.json()["level"] as? String)
            #expect(restLevel == "fever_clinic")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "precheck_submit",
                result: restLevel,
                target: "precheck:\(restId)",
                sync: nil,
                "REST pre-check"
            )
            let sync = try await push(version: 1, answers: answers)
            #expect(sync.status == .applied, "\(sync)")
            let syncRows = try await Self.newRows(location, after: &seq)
            Self.expectOneRow(syncRows, "precheck_submit", result: restLevel, sync: "\(device)#\(mutationId)", "sync pre-check")
            let syncTarget = syncRows.first { $0.entry.action == "precheck_submit" }?.entry.target ?? ""
            let syncId = try #require(Int(syncTarget.dropFirst("precheck:".count)), "\(syncTarget)")
            #expect(syncId != restId)

            let pulled = try await SyncTests.pullAll(client, token: patient, clientId: device)
            let records = pulled.records["prechecks"] ?? [:]
            #expect(Set(records.keys) == [String(restId), String(syncId)])
            guard case .object(var restRecord)? = records[String(restId)], case .object(var syncRecord)? = records[String(syncId)] else {
                Issue.record("the pre-checks are not both synced: \(records)")
                return
            }
            #expect(restRecord["level"] == .string(restLevel) && syncRecord["level"] == .string(restLevel))
            if case .object(let stored)? = syncRecord["answers"] { #expect(stored["temperature"] == .string("38.8")) }
            for key in ["createdAt", "validUntil"] {
                restRecord[key] = nil
                syncRecord[key] = nil
            }
            #expect(restRecord == syncRecord, "the same answers, level, reasons and advice")
            let syncDetail = try await client.get("/api/v1/prechecks/\(syncId)", token: patient)
            #expect(try syncDetail.json()["level"] as? String == restLevel)
            #expect(Self.value(try #require(try syncDetail.json()["answers"])) == Self.value(try #require(try rest.json()["answers"])))

            // A questionnaire version that does not exist: refused before the command runs, on both.
            let restVersion = try await post(version: 99, answers: answers)
            let syncVersion = try await push(version: 99, answers: answers)
            Self.expectSameRefusal(restVersion, syncVersion, status: .unprocessableContent, code: "questionnaire_version_unknown", "version 99")
            #expect(try restVersion.apiError().message == syncVersion.message)
            Self.expectNoRow(try await Self.newRows(location, after: &seq), "precheck_submit", "an unknown version is no decision")

            // Answers the questionnaire refuses: invalid_answers, one row each, nothing stored.
            var wrong = answers
            wrong["temperature"] = 58.5
            let restWrong = try await post(version: 1, answers: wrong)
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "precheck_submit",
                result: "invalid_answers",
                sync: nil,
                "REST invalid answers"
            )
            let syncWrong = try await push(version: 1, answers: wrong)
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "precheck_submit",
                result: "invalid_answers",
                sync: "\(device)#\(mutationId)",
                "sync invalid answers"
            )
            Self.expectSameRefusal(restWrong, syncWrong, status: .unprocessableContent, code: "invalid_answers", "temperature 58.5")
            #expect(try restWrong.apiError().field == "answers.temperature")
            #expect(try restWrong.apiError().message == syncWrong.message)
            let after = try await SyncTests.pullAll(client, token: patient, clientId: device, cursor: pulled.cursor, records: pulled.records)
            #expect(Set((after.records["prechecks"] ?? [:]).keys) == [String(restId), String(syncId)], "no pre-check from the refusals")
            #expect(try await Self.chainIntact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: markNotificationRead

    @Test(arguments: TestEngine.available)
    func markNotificationReadDoesTheSameThroughBothDoors(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        let sms = DevSMSSink()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, sms: sms, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let site = try JourneyTests.siteId(try accounts.staff("kiosk.ruijin-fever").scope)
            // A new patient: the welcome notification, and the booking's.
            let (patient, _, _) = try await JourneyTests.booked(client, sms: sms, 910, site: site, now: TestClock.now)
            let stranger = try await JourneyTests.patient(client, sms: sms, phone: JourneyTests.phone(911))
            let device = "phone-parity-notifications"
            var mutationId: Int64 = 0
            func push(_ id: Int, token: String = patient, clientId: String = device) async throws -> MutationResult {
                mutationId += 1
                return try await Self.push(
                    client,
                    token: token,
                    clientId: clientId,
                    id: mutationId,
                    "markNotificationRead",
                    ["notificationId": .integer(Int64(id))]
                )
            }
            func read(_ id: Int, token: String = patient) async throws -> TestResponse {
                try await client.send(.post, "/api/v1/notifications/\(id)/read", token: token)
            }
            func readAt(_ record: JSONValue?) -> Int64? {
                if case .object(let data)? = record, case .integer(let at)? = data["readAt"] { at } else { nil }
            }
            let inbox = try await SyncTests.pullAll(client, token: patient, clientId: device)
            let ids = (inbox.records["notifications"] ?? [:]).keys.compactMap { Int($0) }.sorted()
            try #require(ids.count >= 2, "welcome and booking: \(inbox.records["notifications"] ?? [:])")
            let (n1, n2) = (ids[0], ids[1])
            #expect(readAt(inbox.records["notifications"]?[String(n1)]) == nil && readAt(inbox.records["notifications"]?[String(n2)]) == nil)
            var seq = try await Self.lastSeq(location)

            // One through each door: both read in the next pull, one row each.
            let rest = try await read(n1)
            #expect(rest.status == .noContent, "\(String(buffer: rest.body))")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "notification_read",
                result: "success",
                target: "notification:\(n1)",
                sync: nil,
                "REST read"
            )
            let sync = try await push(n2)
            #expect(sync.status == .applied && sync.code == nil, "\(sync)")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "notification_read",
                result: "success",
                target: "notification:\(n2)",
                sync: "\(device)#\(mutationId)",
                "sync read"
            )
            let after = try await SyncTests.pullAll(client, token: patient, clientId: device, cursor: inbox.cursor, records: inbox.records)
            let (at1, at2) = (readAt(after.records["notifications"]?[String(n1)]), readAt(after.records["notifications"]?[String(n2)]))
            #expect(at1 != nil && at2 != nil, "\(after.records["notifications"] ?? [:])")

            // Marked again, each door on the other's: idempotent, nothing changes, one row each.
            let restAgain = try await read(n2)
            #expect(restAgain.status == .noContent)
            Self.expectOneRow(try await Self.newRows(location, after: &seq), "notification_read", result: "success", sync: nil, "REST again")
            let syncAgain = try await push(n1)
            #expect(syncAgain.status == .applied)
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "notification_read",
                result: "success",
                sync: "\(device)#\(mutationId)",
                "sync again"
            )
            let again = try await SyncTests.pullAll(client, token: patient, clientId: device, cursor: after.cursor, records: after.records)
            #expect(readAt(again.records["notifications"]?[String(n1)]) == at1 && readAt(again.records["notifications"]?[String(n2)]) == at2)

            // No such notification, and another patient's: notification_not_found on both, one row each.
            for (id, token, who) in [(999_999, patient, "unknown id"), (n1, stranger, "another patient's")] {
                let restMissing = try await read(id, token: token)
                Self.expectOneRow(
                    try await Self.newRows(location, after: &seq),
                    "notification_read",
                    result: "notification_not_found",
                    target: "notification:\(id)",
                    sync: nil,
                    "REST \(who)"
                )
                let clientId = token == patient ? device : "phone-parity-stranger"
                let syncMissing = try await push(id, token: token, clientId: clientId)
                Self.expectOneRow(
                    try await Self.newRows(location, after: &seq),
                    "notification_read",
                    result: "notification_not_found",
                    target: "notification:\(id)",
                    sync: "\(clientId)#\(mutationId)",
                    "sync \(who)"
                )
                Self.expectSameRefusal(restMissing, syncMissing, status: .notFound, code: "notification_not_found", who)
                #expect(try restMissing.apiError().message == syncMissing.message)
            }
            #expect(try await Self.chainIntact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Fault injection

    /// The audit append of a report submission fails after the report rows are written (the
    /// audit head is gone): the transaction rolls back whole, on both doors; once the head is
    /// back, the mutation that was told to retry applies once.
    @Test(arguments: TestEngine.available)
    func aSubmissionWhoseAuditAppendFailsLeavesNothingBehind(engine: TestEngine) async throws {
        let directory = scratchDirectory()
        try await withTestApp(engine, demo: true, pipeline: Self.pipeline, dataDirectory: directory) { client, location in
            let accounts = try DemoAccounts(directory: directory)
            let reporter = try await client.signIn(try accounts.staff("reporter.ruijin")).access
            let campus = try ReportingTests.campus(accounts, "reporter.ruijin")
            let (restDay, syncDay) = (Self.today - 2, Self.today - 3)
            let report = ReportingTests.report()
            func stored(_ day: Day) async throws -> TestResponse {
                try await client.get("/api/v1/reports/\(campus)/\(day)", token: reporter)
            }
            let mutation = Mutation(
                id: 1,
                name: "submitReport",
                args: .object(["campusId": .integer(Int64(campus)), "date": .string(syncDay.description), "report": Self.value(report)])
            )

            try await rawExecute("CREATE TABLE audit_head_saved AS SELECT * FROM audit_head; DELETE FROM audit_head", on: location)
            let rows = try await Self.auditRows(location)

            let put = try await client.send(.put, "/api/v1/reports/\(campus)/\(restDay)", token: reporter, json: report)
            #expect(put.status == .internalServerError, "\(put.status) \(String(buffer: put.body))")
            let restAfter = try await stored(restDay)
            #expect(try restAfter.status == .notFound && restAfter.apiError().code == "report_not_found", "\(String(buffer: restAfter.body))")
            #expect(try await Self.auditRows(location) == rows)

            let pushed = try await SyncTests.push(client, token: reporter, clientId: "device-parity-fault", [mutation])
            #expect(pushed.status == .ok, "\(String(buffer: pushed.body))")
            #expect(try SyncTests.results(pushed).map(\.status) == [.retry], "\(String(buffer: pushed.body))")
            let syncAfter = try await stored(syncDay)
            #expect(try syncAfter.status == .notFound && syncAfter.apiError().code == "report_not_found", "\(String(buffer: syncAfter.body))")
            #expect(try await Self.auditRows(location) == rows)

            // The head restored: the mutation was not recorded either, so pushed again it applies, with its one row.
            try await rawExecute("INSERT INTO audit_head SELECT * FROM audit_head_saved; DROP TABLE audit_head_saved", on: location)
            var seq = try await Self.lastSeq(location)
            let retried = try await SyncTests.push(client, token: reporter, clientId: "device-parity-fault", [mutation])
            #expect(try SyncTests.results(retried).map(\.status) == [.applied], "\(String(buffer: retried.body))")
            Self.expectOneRow(
                try await Self.newRows(location, after: &seq),
                "report_submit",
                result: "accepted_with_warnings",
                target: "report:\(campus)/\(syncDay)",
                sync: "device-parity-fault#1",
                "retried push"
            )
            #expect(try await stored(syncDay).json()["current"].flatMap { ($0 as? [String: Any])?["version"] as? Int } == 1)
            #expect(try await stored(restDay).status == .notFound)
            #expect(try await Self.chainIntact(location))
        }
        try? FileManager.default.removeItem(atPath: directory)
    }
}
