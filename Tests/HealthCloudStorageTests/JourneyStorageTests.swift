import Foundation
import HealthCloudDomain
import HealthCloudTestSupport
import Testing

@testable import HealthCloudStorage

/// The journey's storage on both engines: slots made once, reminders sent once, no-shows
/// released with their pass withdrawn from the phone, a check-in's queue numbers per site and day.
@Suite struct JourneyStorageTests {
    @Sendable static func auditEntry(_ result: AppointmentRepository.OfflineResult) -> AuditEntry {
        AuditEntry(
            at: "2026-06-15T02:00:00Z",
            actorAccount: 98,
            actorRole: "kiosk",
            action: "checkin_offline",
            target: "test",
            result: result.status,
            clientIP: "",
            requestID: "",
            detail: result.code ?? ""
        )
    }

    /// One district, one hospital with a fever clinic; returns the clinic.
    static func clinic(_ app: AppDatabase) async throws -> SiteRepository.SiteInfo {
        try await app.organisations.upsert(districts: [District(code: "310101", name: "黄浦区", nameEn: "Huangpu", population: 650_000)])
        _ = try await app.organisations.insert(
            NewInstitution(
                name: "测试医院",
                level: .municipal,
                kind: .general,
                districtCode: "310101",
                campuses: [
                    .init(
                        name: "总院",
                        districtCode: "310101",
                        latitude: 31.21,
                        longitude: 121.47,
                        sites: [.init(kind: .feverClinic, name: "测试医院发热门诊", latitude: 31.21, longitude: 121.47)]
                    )
                ]
            )
        )
        return try #require(try await app.sites.sites(kinds: [.feverClinic], districtCode: nil).first)
    }

    static func precheck(_ app: AppDatabase, patient: Int, now: Int64) async throws -> Int {
        let answers: [String: JSONValue] = ["temperature": .number(38.9)]
        return try await app.prechecks.insert(
            .init(
                patientId: patient,
                questionnaireVersion: 1,
                ruleTableVersion: 1,
                answers: answers,
                outcome: TriageRuleTable.standard.triage(answers),
                latitude: nil,
                longitude: nil
            ),
            now: now
        ).id
    }

    static func kinds(_ app: AppDatabase, patient: Int) async throws -> [String] {
        try await app.notifications.list(patientId: patient).map(\.kind)
    }

    @Test(arguments: TestEngine.available)
    func remindersNoShowsAndQueueNumbers(engine: TestEngine) async throws {
        try await TestDatabase.with(engine) { app in
            let site = try await Self.clinic(app)
            let day = Day("2026-12-01")!
            let slots = try await app.sites.slots(of: site, on: day)
            #expect(slots.count == 24 && slots.allSatisfy { $0.capacity == 20 && $0.booked == 0 })
            #expect(try await app.sites.slots(of: site, on: day).map(\.id) == slots.map(\.id), "made once")
            let nine = slots[9]
            let ten = slots[10]
            #expect(nine.start == "09:00" && nine.end == "10:00")

            // Two patients book 09:00 and 10:00 the evening before.
            let evening = nine.startsAt - 12 * 3600
            var booked: [AppointmentRepository.Appointment] = []
            for (patient, slot) in [(1, nine), (2, ten)] {
                let outcome = try await app.appointments.book(
                    patientId: patient,
                    slotId: slot.id,
                    precheckId: try await Self.precheck(app, patient: patient, now: evening),
                    now: evening
                )
                guard case .booked(let appointment) = outcome else {
                    Issue.record("\(outcome)")
                    return
                }
                booked.append(appointment)
            }
            #expect(try await app.sites.freePlaces(of: [site], on: day, now: evening)[site.id] == 24 * 20 - 2)

            // Reminders two hours ahead, once each.
            #expect(try await app.appointments.sendReminders(now: nine.startsAt - 3 * 3600) == 0)
            #expect(try await app.appointments.sendReminders(now: nine.startsAt - 2 * 3600) == 1)
            #expect(try await app.appointments.sendReminders(now: nine.startsAt - 2 * 3600 + 60) == 0)
            #expect(try await app.appointments.sendReminders(now: ten.startsAt - 3600) == 1)
            #expect(try await Self.kinds(app, patient: 1) == ["booking", "reminder"])

            // Patient 2 arrives at 10:05 (queue number 1 of the day); patient 1 never comes.
            let arrival = ten.startsAt + 300
            let checkIn = try await app.appointments.checkIn(booked[1].pass, by: 99, at: arrival, now: arrival)
            guard case .checkedIn(let seen) = checkIn else {
                Issue.record("\(checkIn)")
                return
            }
            #expect(seen.queueNumber == 1 && seen.checkedInAt == arrival)
            // 10:29: patient 1's pass (09:00–10:00, 30 minutes' grace) is not released yet; at 10:30 it is.
            #expect(try await app.appointments.releaseNoShows(patientId: nil, now: nine.endsAt + 29 * 60) == 0)
            #expect(try await app.appointments.releaseNoShows(patientId: nil, now: nine.endsAt + 30 * 60) == 1)
            #expect(try await app.appointments.appointment(id: booked[0].id)?.status == .noShow)
            #expect(try await app.appointments.appointment(id: booked[1].id)?.status == .checkedIn, "a checked-in patient is no no-show")
            #expect(try await Self.kinds(app, patient: 1) == ["booking", "reminder", "no_show"])
            let late = try await app.appointments.checkIn(booked[0].pass, by: 99, at: nine.endsAt + 31 * 60, now: nine.endsAt + 31 * 60)
            #expect(late == .released)
            // The phone loses the released pass; the checked-in one stays, marked used.
            let page = try await app.sync.page(
                grants: [SyncAudience(role: "patient", path: "patient/1"), SyncAudience(role: "patient", path: "patient/2")],
                after: 0,
                snapshot: false,
                limit: 100,
                maxBytes: 1 << 20
            )
            let passes = page.records.filter { $0.collection == "visitPasses" }
            #expect(passes.first { $0.id == String(booked[0].id) }?.deleted == true)
            #expect(passes.first { $0.id == String(booked[1].id) }?.data?.contains("\"usedAt\":\(arrival)") == true)

            // The last window of the day ends at 24:00 on the appointment as on the slot.
            let last = slots[23]
            #expect(last.start == "23:00" && last.end == "24:00")
            let lastOutcome = try await app.appointments.book(
                patientId: 4,
                slotId: last.id,
                precheckId: try await Self.precheck(app, patient: 4, now: evening),
                now: evening
            )
            guard case .booked(let midnight) = lastOutcome else {
                Issue.record("\(lastOutcome)")
                return
            }
            #expect(midnight.start == "23:00" && midnight.end == "24:00")
            // An offline scan dated an hour before the booking existed is refused, not a visit.
            let backDated = try await app.appointments.reconcileOffline(
                midnight.pass,
                by: 98,
                scannedAt: evening - 3600,
                now: evening + 60,
                judge: judge,
                audit: Self.auditEntry
            )
            #expect(backDated == .init(status: "rejected", code: "scan_time_invalid", queueNumber: nil, duplicate: false))
            #expect(try await app.appointments.appointment(id: midnight.id)?.status == .booked)

            // The kiosk had scanned patient 1 at 09:10 while offline: the upload revives the
            // released booking, and the pass comes back to the phone, used.
            @Sendable func judge(_ outcome: AppointmentRepository.CheckInOutcome) -> (status: String, code: String?) {
                switch outcome {
                case .checkedIn: ("checked_in", nil)
                case .alreadyUsed: ("rejected", "pass_already_used")
                case .cancelled, .unknownAppointment: ("rejected", "pass_cancelled")
                case .released: ("rejected", "pass_expired")
                case .scannedBeforeBooking: ("rejected", "scan_time_invalid")
                }
            }
            let upload = nine.endsAt + 3600
            let revived = try await app.appointments.reconcileOffline(
                booked[0].pass,
                by: 98,
                scannedAt: nine.startsAt + 600,
                now: upload,
                judge: judge,
                audit: Self.auditEntry
            )
            #expect(revived == .init(status: "checked_in", code: nil, queueNumber: 2, duplicate: false))
            #expect(try await app.appointments.appointment(id: booked[0].id)?.status == .checkedIn)
            let resent = try await app.appointments.reconcileOffline(
                booked[0].pass,
                by: 98,
                scannedAt: nine.startsAt + 600,
                now: upload + 60,
                judge: judge,
                audit: Self.auditEntry
            )
            #expect(resent == .init(status: "checked_in", code: nil, queueNumber: 2, duplicate: true))
            let copied = try await app.appointments.reconcileOffline(
                booked[0].pass,
                by: 98,
                scannedAt: nine.startsAt + 900,
                now: upload + 60,
                judge: judge,
                audit: Self.auditEntry
            )
            #expect(copied == .init(status: "rejected", code: "pass_already_used", queueNumber: nil, duplicate: false))
            let after = try await app.sync.page(
                grants: [SyncAudience(role: "patient", path: "patient/1")],
                after: page.cursor,
                snapshot: false,
                limit: 100,
                maxBytes: 1 << 20
            )
            #expect(after.records.first { $0.collection == "visitPasses" }?.data?.contains("\"usedAt\":\(nine.startsAt + 600)") == true)

            // A released patient who booked again that day: the old pass's offline scan is superseded.
            let rebooker = 5
            let early = try await app.appointments.book(
                patientId: rebooker,
                slotId: slots[11].id,
                precheckId: try await Self.precheck(app, patient: rebooker, now: evening),
                now: evening
            )
            guard case .booked(let missed) = early else {
                Issue.record("\(early)")
                return
            }
            #expect(try await app.appointments.releaseNoShows(patientId: nil, now: slots[11].endsAt + 1800) == 1)
            let again = try await app.appointments.book(
                patientId: rebooker,
                slotId: slots[14].id,
                precheckId: try await Self.precheck(app, patient: rebooker, now: slots[11].endsAt + 1800),
                now: slots[11].endsAt + 1800
            )
            guard case .booked = again else {
                Issue.record("\(again)")
                return
            }
            let superseded = try await app.appointments.reconcileOffline(
                missed.pass,
                by: 98,
                scannedAt: slots[11].startsAt + 60,
                now: slots[12].endsAt,
                judge: judge,
                audit: Self.auditEntry
            )
            #expect(superseded == .init(status: "rejected", code: "pass_superseded", queueNumber: nil, duplicate: false))

            // Queue numbers count per site and appointment day: a 00:00 window's patient who
            // arrives at 23:40 the evening before is the next day's first.
            let nextDay = try await app.sites.slots(of: site, on: day + 1)
            var numbers: [Int?] = []
            for (patient, slot, arrival) in [(3, nextDay[0], nextDay[0].startsAt - 20 * 60), (6, nextDay[9], nextDay[9].startsAt)] {
                let outcome = try await app.appointments.book(
                    patientId: patient,
                    slotId: slot.id,
                    precheckId: try await Self.precheck(app, patient: patient, now: evening),
                    now: evening
                )
                guard case .booked(let appointment) = outcome else {
                    Issue.record("\(outcome)")
                    return
                }
                let next = try await app.appointments.checkIn(appointment.pass, by: 99, at: arrival, now: arrival)
                guard case .checkedIn(let seen) = next else {
                    Issue.record("\(next)")
                    return
                }
                numbers.append(seen.queueNumber)
            }
            #expect(numbers == [1, 2])
            #expect(try await app.appointments.queue(siteId: site.id, date: day + 1).map { $0.0.queueNumber } == [1, 2])
        }
    }
}
