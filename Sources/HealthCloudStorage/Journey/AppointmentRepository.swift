import Foundation
import HealthCloudCrypto
import HealthCloudDomain

/// Bookings, visit passes, check-ins and gradings. Every change commits with its sync records
/// (`appointments`, `visitPasses`) and the patient's notification, so the phone shows exactly
/// what the server decided.
public struct AppointmentRepository: Sendable {
    let db: Repositories
    var keys: KeyMaterial { db.protection.keys }

    public enum Status: String, Sendable, Codable {
        case booked, cancelled
        case checkedIn = "checked_in"
        case noShow = "no_show"
    }

    public struct Appointment: Sendable, Equatable {
        public var id: Int
        public var patientId: Int
        public var status: Status
        public var siteId: Int
        public var siteName: String
        public var slotId: Int
        public var date: Day
        public var startsAt: Int64
        public var endsAt: Int64
        public var precheckId: Int
        public var level: TriageLevel
        public var passId: String
        public var passToken: String?
        public var createdAt: Int64
        public var cancelledAt: Int64?
        public var checkedInAt: Int64?
        public var queueNumber: Int?
        public var grade: PatientGrade?

        public var pass: VisitPassClaims {
            VisitPassClaims(passId: passId, appointmentId: id, siteId: siteId, windowStart: startsAt, windowEnd: endsAt)
        }

        /// `08:00`, Shanghai time, counted from the start of the appointment's day: a window
        /// that ends at midnight ends at `24:00`, as the slot list says.
        public var start: String { SiteSchedule.clock(Int((startsAt - date.unixSeconds(atShanghaiHour: 0)) / 60)) }
        public var end: String { SiteSchedule.clock(Int((endsAt - date.unixSeconds(atShanghaiHour: 0)) / 60)) }

        /// Where and when, as the patient's messages say it.
        var whereAndWhen: String { "\(siteName) \(date) \(start)–\(end)" }
    }

    static let selectList = """
        a.id, a.patient_id, a.status, a.site_id, s.name AS site_name, a.slot_id, a.date, a.starts_at, a.ends_at, a.precheck_id, a.level,
        a.pass_id, a.pass_token, a.created_at, a.cancelled_at, a.checked_in_at, a.queue_number, a.grade
        """
    static let columns = selectList + " FROM appointments a JOIN sites s ON s.id = a.site_id"

    static func appointment(_ row: SQLRow) throws -> Appointment {
        Appointment(
            id: try row.int("id"),
            patientId: try row.int("patient_id"),
            status: Status(rawValue: try row.string("status")) ?? .cancelled,
            siteId: try row.int("site_id"),
            siteName: try row.string("site_name"),
            slotId: try row.int("slot_id"),
            date: Day(try row.string("date")) ?? Day(number: 0),
            startsAt: try row.int64("starts_at"),
            endsAt: try row.int64("ends_at"),
            precheckId: try row.int("precheck_id"),
            level: TriageLevel(rawValue: try row.string("level")) ?? .homeCare,
            passId: try row.string("pass_id"),
            passToken: try row.optionalString("pass_token"),
            createdAt: try row.int64("created_at"),
            cancelledAt: try row.optionalInt("cancelled_at").map(Int64.init),
            checkedInAt: try row.optionalInt("checked_in_at").map(Int64.init),
            queueNumber: try row.optionalInt("queue_number"),
            grade: try row.optionalString("grade").flatMap(PatientGrade.init(rawValue:))
        )
    }

    public func appointment(id: Int) async throws -> Appointment? {
        try await db.first("SELECT \(Self.columns) WHERE a.id = $1", [.integer(Int64(id))]).map(Self.appointment)
    }

    public func appointments(patientId: Int, limit: Int, offset: Int) async throws -> [Appointment] {
        try await db.query(
            "SELECT \(Self.columns) WHERE a.patient_id = $1 ORDER BY a.id DESC LIMIT \(limit) OFFSET \(offset)",
            [.integer(Int64(patientId))]
        ).map(Self.appointment)
    }

    /// Where an appointment sits: its patient, and its site in the hierarchy.
    public func owner(ofAppointment id: Int) async throws -> (patientId: Int, siteId: Int)? {
        try await db.first("SELECT patient_id, site_id FROM appointments WHERE id = $1", [.integer(Int64(id))]).map {
            (try $0.int("patient_id"), try $0.int("site_id"))
        }
    }

    // MARK: Booking

    public enum BookingOutcome: Sendable, Equatable {
        case booked(Appointment)
        case slotNotFound
        case slotFull
        case slotEnded
        case precheckNotFound
        case precheckExpired
        case notReferring
        case emergency
        case siteNotSuitable(TriageLevel, SiteKind)
        case alreadyBooked(Int)
    }

    public func book(patientId: Int, slotId: Int, precheckId: Int, now: Int64) async throws -> BookingOutcome {
        do {
            return try await db.write { db in
                try await db.appointments.attemptBooking(patientId: patientId, slotId: slotId, precheckId: precheckId, now: now)
            }
        } catch DatabaseError.uniqueViolation {
            // A concurrent booking of the same patient for the same day won the partial unique index.
            let existing = try await db.read { db -> Int? in
                guard let date = try await db.first("SELECT date FROM slots WHERE id = $1", [.integer(Int64(slotId))]) else { return nil }
                return try await db.appointments.activeAppointment(patientId: patientId, date: try date.string("date"))
            }
            guard let existing else {
                // The other booking was cancelled meanwhile: try again, once.
                return try await db.write { db in
                    try await db.appointments.attemptBooking(patientId: patientId, slotId: slotId, precheckId: precheckId, now: now)
                }
            }
            return .alreadyBooked(existing)
        }
    }

    private func attemptBooking(patientId: Int, slotId: Int, precheckId: Int, now: Int64) async throws -> BookingOutcome {
        guard let precheck = try await db.prechecks.precheck(id: precheckId), precheck.patientId == patientId else {
            return .precheckNotFound
        }
        guard now < precheck.validUntil else { return .precheckExpired }
        switch precheck.level {
        case .homeCare: return .notReferring
        case .emergency: return .emergency
        case .sentinel, .feverClinic: break
        }
        guard
            let slot = try await db.first(
                """
                SELECT sl.site_id, sl.date, sl.starts_at, sl.ends_at, s.kind FROM slots sl JOIN sites s ON s.id = sl.site_id WHERE sl.id = $1
                """,
                [.integer(Int64(slotId))]
            )
        else { return .slotNotFound }
        let kind = SiteKind(rawValue: try slot.string("kind")) ?? .feverClinic
        guard precheck.level.bookableSites.contains(kind) else { return .siteNotSuitable(precheck.level, kind) }
        guard try slot.int64("ends_at") > now else { return .slotEnded }
        let date = try slot.string("date")
        try await db.appointments.releaseNoShows(patientId: patientId, now: now)
        if let existing = try await db.appointments.activeAppointment(patientId: patientId, date: date) { return .alreadyBooked(existing) }
        // The one place capacity is enforced: a conditional increment (row-locked on PostgreSQL,
        // serialized on SQLite), never a read followed by a write.
        guard
            try await db.first(
                "UPDATE slots SET booked = booked + 1 WHERE id = $1 AND booked < capacity RETURNING booked",
                [.integer(Int64(slotId))]
            ) != nil
        else { return .slotFull }
        let passId = Base64URL.encode(SecureRandom.bytes(12))
        guard
            let row = try await db.first(
                """
                INSERT INTO appointments (patient_id, site_id, slot_id, date, starts_at, ends_at, precheck_id, level, status, pass_id, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'booked', $9, $10) RETURNING id
                """,
                [
                    .integer(Int64(patientId)), .integer(try slot.int64("site_id")), .integer(Int64(slotId)), .text(date),
                    .integer(try slot.int64("starts_at")), .integer(try slot.int64("ends_at")), .integer(Int64(precheckId)),
                    .text(precheck.level.rawValue), .text(passId), .integer(now),
                ]
            )
        else { throw DatabaseError.engine("no id returned") }
        guard var appointment = try await db.appointments.appointment(id: try row.int("id")) else {
            throw DatabaseError.engine("appointment vanished")
        }
        let token = try SignedToken.sign(
            claims: appointment.pass.claims,
            type: VisitPassClaims.type,
            issuedAt: Date(timeIntervalSince1970: TimeInterval(now)),
            expiresAt: Date(timeIntervalSince1970: TimeInterval(appointment.pass.expiresAt)),
            key: keys.signingKey,
            keyID: keys.signingKeyID
        )
        try await db.execute("UPDATE appointments SET pass_token = $1 WHERE id = $2", [.text(token), .integer(Int64(appointment.id))])
        appointment.passToken = token
        let message = try await db.appointments.notify(
            appointment,
            kind: "booking",
            title: "预约成功 Booked",
            body: "\(appointment.whereAndWhen)。请凭二维码签到。Show your QR pass at the kiosk.",
            now: now
        )
        try await db.sync.put([Self.record(appointment)] + [Self.passRecord(appointment, usedAt: nil)].compactMap { $0 } + [message], now: now)
        return .booked(appointment)
    }

    /// The patient's booked or checked-in appointment of `date` (the partial unique index allows one).
    func activeAppointment(patientId: Int, date: String) async throws -> Int? {
        try await db.first(
            "SELECT id FROM appointments WHERE patient_id = $1 AND date = $2 AND status IN ('booked', 'checked_in')",
            [.integer(Int64(patientId)), .text(date)]
        ).map { try $0.int("id") }
    }

    // MARK: Cancelling and releasing

    public enum CancelOutcome: Sendable, Equatable {
        case cancelled(Appointment)
        case notFound
        case checkedIn
        case noShow
    }

    public func cancel(id: Int, patientId: Int, now: Int64) async throws -> CancelOutcome {
        try await db.write { db in
            // A booking whose pass expired is a no-show even if the minutely release has not run yet.
            try await db.appointments.releaseNoShows(patientId: patientId, now: now)
            func settled(_ appointment: Appointment) -> CancelOutcome? {
                switch appointment.status {
                case .cancelled: .cancelled(appointment)
                case .checkedIn: .checkedIn
                case .noShow: .noShow
                case .booked: nil
                }
            }
            guard let appointment = try await db.appointments.appointment(id: id), appointment.patientId == patientId else { return .notFound }
            if let outcome = settled(appointment) { return outcome }
            guard
                try await db.first(
                    "UPDATE appointments SET status = 'cancelled', cancelled_at = $1 WHERE id = $2 AND status = 'booked' RETURNING id",
                    [.integer(now), .integer(Int64(id))]
                ) != nil
            else {
                // PostgreSQL: another transaction changed it between the read and the update.
                return try await db.appointments.appointment(id: id).flatMap(settled) ?? .notFound
            }
            try await db.execute("UPDATE slots SET booked = booked - 1 WHERE id = $1 AND booked > 0", [.integer(Int64(appointment.slotId))])
            var cancelled = appointment
            cancelled.status = .cancelled
            cancelled.cancelledAt = now
            let message = try await db.appointments.notify(
                cancelled,
                kind: "cancellation",
                title: "预约已取消 Booking cancelled",
                body: cancelled.whereAndWhen,
                now: now
            )
            try await db.sync.put([Self.record(cancelled), message], now: now)
            try await db.sync.remove(collection: "visitPasses", id: String(id), now: now)
            return .cancelled(cancelled)
        }
    }

    /// Booked appointments whose pass has expired become no-shows (for everyone, or one patient).
    @discardableResult
    public func releaseNoShows(patientId: Int?, now: Int64) async throws -> Int {
        try await db.write { db in
            var binds: [SQLValue] = [.integer(now - VisitPassClaims.grace)]
            var filter = ""
            if let patientId {
                binds.append(.integer(Int64(patientId)))
                filter = " AND patient_id = $2"
            }
            let released = try await db.query(
                "UPDATE appointments SET status = 'no_show' WHERE status = 'booked' AND ends_at <= $1\(filter) RETURNING id",
                binds
            )
            for row in released {
                guard let appointment = try await db.appointments.appointment(id: try row.int("id")) else { continue }
                let message = try await db.appointments.notify(
                    appointment,
                    kind: "no_show",
                    title: "预约已过期 Appointment missed",
                    body: "\(appointment.whereAndWhen)。如仍不适请重新预检。Answer the pre-check again if you still feel unwell.",
                    now: now
                )
                try await db.sync.put([Self.record(appointment), message], now: now)
                try await db.sync.remove(collection: "visitPasses", id: String(appointment.id), now: now)
            }
            return released.count
        }
    }

    /// One reminder per booked appointment, `lead` seconds before its window.
    @discardableResult
    public func sendReminders(now: Int64, lead: Int64 = 2 * 3600) async throws -> Int {
        try await db.write { db in
            let due = try await db.query(
                """
                UPDATE appointments SET reminded_at = $1 WHERE status = 'booked' AND reminded_at IS NULL AND starts_at <= $2 AND ends_at > $1 RETURNING id
                """,
                [.integer(now), .integer(now + lead)]
            )
            for row in due {
                guard let appointment = try await db.appointments.appointment(id: try row.int("id")) else { continue }
                try await db.notifications.create(
                    patientId: appointment.patientId,
                    kind: "reminder",
                    title: "就诊提醒 Visit reminder",
                    body: "\(appointment.siteName) \(appointment.start)–\(appointment.end)。请佩戴口罩，凭二维码签到。Wear a mask; show your QR pass.",
                    now: now
                )
            }
            return due.count
        }
    }

    // MARK: Check-in

    public enum CheckInOutcome: Sendable, Equatable {
        case checkedIn(Appointment)
        case unknownAppointment
        case cancelled
        case alreadyUsed(Appointment)
        case released
        /// An offline scan dated before its booking existed: a back-dated visit, refused.
        case scannedBeforeBooking(bookedAt: Int64)
    }

    /// `offline`: the kiosk verified the pass at `at`, before the booking was released as a
    /// no-show (the release could not know): the scan stands and revives it.
    public func checkIn(
        _ pass: VisitPassClaims,
        by kioskAccount: Int,
        at: Int64,
        now: Int64,
        offline: Bool = false
    ) async throws -> CheckInOutcome {
        try await db.write { db in
            func settled(_ appointment: Appointment) -> CheckInOutcome? {
                switch appointment.status {
                case .cancelled: .cancelled
                case .checkedIn: .alreadyUsed(appointment)
                case .noShow where !(offline && at < pass.expiresAt): .released
                case .booked, .noShow: nil
                }
            }
            guard let appointment = try await db.appointments.appointment(id: pass.appointmentId), appointment.passId == pass.passId,
                appointment.siteId == pass.siteId
            else { return .unknownAppointment }
            // A kiosk's clock may run a minute fast or slow; a scan older than that before the
            // booking was made back-dates the visit (and could revive a no-show).
            if offline, at < appointment.createdAt - 60 { return .scannedBeforeBooking(bookedAt: appointment.createdAt) }
            if let outcome = settled(appointment) { return outcome }
            guard
                try await db.first(
                    """
                    UPDATE appointments SET status = 'checked_in', checked_in_at = $1, checked_in_by = $2 WHERE id = $3 AND status = $4 RETURNING id
                    """,
                    [.integer(at), .integer(Int64(kioskAccount)), .integer(Int64(appointment.id)), .text(appointment.status.rawValue)]
                ) != nil
            else {
                // PostgreSQL: a concurrent cancel, check-in or release won; say which.
                return try await db.appointments.appointment(id: appointment.id).flatMap(settled) ?? .alreadyUsed(appointment)
            }
            // Numbered in the day of the appointment (a 00:00 window's patient may arrive at 23:40),
            // the day the site's queue lists it under.
            guard
                let queue = try await db.first(
                    """
                    INSERT INTO site_queues (site_id, date, last_number) VALUES ($1, $2, 1)
                    ON CONFLICT (site_id, date) DO UPDATE SET last_number = site_queues.last_number + 1 RETURNING last_number
                    """,
                    [.integer(Int64(appointment.siteId)), .text(appointment.date.description)]
                )
            else { throw DatabaseError.engine("no queue number") }
            let number = try queue.int("last_number")
            try await db.execute(
                "UPDATE appointments SET queue_number = $1 WHERE id = $2",
                [.integer(Int64(number)), .integer(Int64(appointment.id))]
            )
            var checkedIn = appointment
            checkedIn.status = .checkedIn
            checkedIn.checkedInAt = at
            checkedIn.queueNumber = number
            let message = try await db.appointments.notify(
                checkedIn,
                kind: "checkin",
                title: "签到成功 Checked in",
                body: "\(appointment.siteName)：您的排队号 \(number)。Your queue number is \(number).",
                now: now
            )
            // A revived no-show's pass was withdrawn from the phone: it comes back, used.
            try await db.sync.put([Self.record(checkedIn)] + [Self.passRecord(checkedIn, usedAt: at)].compactMap { $0 } + [message], now: now)
            return .checkedIn(checkedIn)
        }
    }

    public struct OfflineResult: Sendable, Equatable {
        public var status: String
        public var code: String?
        public var queueNumber: Int?
        /// This very scan (kiosk, pass, scan time) was reconciled before: answered from the record.
        public var duplicate: Bool

        public init(status: String, code: String?, queueNumber: Int?, duplicate: Bool) {
            self.status = status
            self.code = code
            self.queueNumber = queueNumber
            self.duplicate = duplicate
        }
    }

    /// Reconciles a scan a kiosk verified offline, once per (kiosk, pass, scan time): a resent
    /// upload is answered from the record; another scan of the same pass is judged afresh (a
    /// copied QR code meets `pass_already_used`). `audit`: the row of a scan judged now, appended
    /// in the transaction of the judgement (an answer repeated from the record adds none).
    public func reconcileOffline(
        _ pass: VisitPassClaims,
        by kioskAccount: Int,
        scannedAt: Int64,
        now: Int64,
        judge: @escaping @Sendable (CheckInOutcome) -> (status: String, code: String?),
        audit: @escaping @Sendable (OfflineResult) -> AuditEntry
    ) async throws -> OfflineResult {
        let key: [SQLValue] = [.integer(Int64(kioskAccount)), .text(pass.passId), .integer(scannedAt)]
        @Sendable func stored(_ db: Repositories) async throws -> OfflineResult? {
            try await db.first(
                "SELECT status, code, queue_number FROM offline_scans WHERE kiosk_account = $1 AND pass_id = $2 AND scanned_at = $3",
                key
            ).map {
                OfflineResult(
                    status: try $0.string("status"),
                    code: try $0.optionalString("code"),
                    queueNumber: try $0.optionalInt("queue_number"),
                    duplicate: true
                )
            }
        }
        @Sendable func record(_ db: Repositories, _ status: String, _ code: String?, _ number: Int?) async throws {
            try await db.execute(
                """
                INSERT INTO offline_scans (kiosk_account, pass_id, scanned_at, status, code, queue_number, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                key + [.text(status), SQLValue(code, SQLValue.text), SQLValue(number.map(Int64.init), SQLValue.integer), .integer(now)]
            )
        }
        do {
            return try await db.write { db in
                if let answer = try await stored(db) { return answer }
                let outcome = try await db.appointments.checkIn(pass, by: kioskAccount, at: scannedAt, now: now, offline: true)
                let (status, code) = judge(outcome)
                var number: Int?
                if case .checkedIn(let appointment) = outcome { number = appointment.queueNumber }
                try await record(db, status, code, number)
                let result = OfflineResult(status: status, code: code, queueNumber: number, duplicate: false)
                try await db.audit.append(audit(result))
                return result
            }
        } catch DatabaseError.uniqueViolation {
            // Either the same upload twice at once (the other one recorded it), or reviving a
            // released booking of a patient who has booked again that day (one active booking).
            if let answer = try await db.read({ db in try await stored(db) }) { return answer }
            return try await db.write { db in
                if let answer = try await stored(db) { return answer }
                try await record(db, "rejected", "pass_superseded", nil)
                let result = OfflineResult(status: "rejected", code: "pass_superseded", queueNumber: nil, duplicate: false)
                try await db.audit.append(audit(result))
                return result
            }
        }
    }

    // MARK: The site's queue and grading

    /// Today's checked-in patients of a site, by queue number; names come sealed and are
    /// opened by the caller (who masks them).
    public func queue(siteId: Int, date: Day) async throws -> [(Appointment, sealedName: String?, reasons: String)] {
        try await db.query(
            """
            SELECT \(Self.selectList), acc.name_cipher, p.reasons
            FROM appointments a JOIN sites s ON s.id = a.site_id JOIN prechecks p ON p.id = a.precheck_id
            LEFT JOIN accounts acc ON acc.id = a.patient_id
            WHERE a.site_id = $1 AND a.date = $2 AND a.status = 'checked_in' ORDER BY a.queue_number
            """,
            [.integer(Int64(siteId)), .text(date.description)]
        ).map { row in
            (try Self.appointment(row), try row.optionalString("name_cipher"), try row.string("reasons"))
        }
    }

    public struct Grading: Sendable, Equatable {
        public var grade: PatientGrade
        public var routing: Routing
        public var note: String?
        public var gradedBy: Int
        public var gradedAt: Int64
    }

    public enum GradingOutcome: Sendable, Equatable {
        case graded(Appointment, [Grading])
        case notFound
        case notCheckedIn
    }

    public func grade(appointmentId: Int, grade: PatientGrade, note: String?, by doctor: Int, now: Int64) async throws -> GradingOutcome {
        try await db.write { db in
            guard var appointment = try await db.appointments.appointment(id: appointmentId) else { return .notFound }
            guard appointment.status == .checkedIn else { return .notCheckedIn }
            try await db.execute(
                "INSERT INTO gradings (appointment_id, grade, routing, note, graded_by, graded_at) VALUES ($1, $2, $3, $4, $5, $6)",
                [
                    .integer(Int64(appointmentId)), .text(grade.rawValue), .text(grade.routing.rawValue), SQLValue(note, SQLValue.text),
                    .integer(Int64(doctor)), .integer(now),
                ]
            )
            try await db.execute("UPDATE appointments SET grade = $1 WHERE id = $2", [.text(grade.rawValue), .integer(Int64(appointmentId))])
            appointment.grade = grade
            let message = try await db.appointments.notify(appointment, kind: "grading", title: "诊疗分级结果 Your grading", body: grade.advice, now: now)
            try await db.sync.put([Self.record(appointment), message], now: now)
            return .graded(appointment, try await db.appointments.gradings(appointmentId: appointmentId))
        }
    }

    public func gradings(appointmentId: Int) async throws -> [Grading] {
        try await db.query(
            "SELECT grade, routing, note, graded_by, graded_at FROM gradings WHERE appointment_id = $1 ORDER BY id",
            [.integer(Int64(appointmentId))]
        ).map { row in
            let grade = PatientGrade(rawValue: try row.string("grade")) ?? .mild
            return Grading(
                grade: grade,
                routing: Routing(rawValue: try row.string("routing")) ?? grade.routing,
                note: try row.optionalString("note"),
                gradedBy: try row.int("graded_by"),
                gradedAt: try row.int64("graded_at")
            )
        }
    }

    // MARK: Sync records

    static func record(_ appointment: Appointment) -> SyncLog.Put {
        func optional(_ value: Int64?) -> JSONValue { value.map(JSONValue.integer) ?? .null }
        return SyncLog.Put(
            collection: "appointments",
            id: String(appointment.id),
            audience: .patient(appointment.patientId),
            data: .object([
                "status": .string(appointment.status.rawValue), "siteId": .integer(Int64(appointment.siteId)),
                "siteName": .string(appointment.siteName),
                "slotId": .integer(Int64(appointment.slotId)), "date": .string(appointment.date.description),
                "startsAt": .integer(appointment.startsAt), "endsAt": .integer(appointment.endsAt), "start": .string(appointment.start),
                "end": .string(appointment.end),
                "precheckId": .integer(Int64(appointment.precheckId)), "level": .string(appointment.level.rawValue),
                "createdAt": .integer(appointment.createdAt),
                "cancelledAt": optional(appointment.cancelledAt), "checkedInAt": optional(appointment.checkedInAt),
                "queueNumber": optional(appointment.queueNumber.map(Int64.init)),
                "grade": appointment.grade.map { .string($0.rawValue) } ?? .null,
                "routing": appointment.grade.map { .string($0.routing.rawValue) } ?? .null,
                "advice": appointment.grade.map { .string($0.advice) } ?? .null,
            ])
        )
    }

    /// The pass as the phone keeps it (nil before it is signed).
    static func passRecord(_ appointment: Appointment, usedAt: Int64?) -> SyncLog.Put? {
        guard let token = appointment.passToken else { return nil }
        let pass = appointment.pass
        return SyncLog.Put(
            collection: "visitPasses",
            id: String(appointment.id),
            audience: .patient(appointment.patientId),
            data: .object([
                "appointmentId": .integer(Int64(appointment.id)), "siteId": .integer(Int64(appointment.siteId)), "token": .string(token),
                "notBefore": .integer(pass.notBefore), "expiresAt": .integer(pass.expiresAt), "usedAt": usedAt.map(JSONValue.integer) ?? .null,
            ])
        )
    }

    /// The patient's message about an appointment, stored now; its record goes with the others.
    func notify(
        _ appointment: Appointment,
        kind: String,
        title: String,
        body: String,
        now: Int64
    ) async throws -> SyncLog.Put {
        try await db.notifications.insert(patientId: appointment.patientId, kind: kind, title: title, body: body, now: now).record
    }
}
