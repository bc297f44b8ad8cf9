import Foundation
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// Booking, the visit pass and its QR code, the kiosk's check-in (online and reconciled after
/// an offline spell), the site's queue, and the doctor's grading.
struct AppointmentsController {
    let database: AppDatabase
    let catalog: SiteCatalog
    let audit: AuditTrail
    let clock: AppClock

    func addRoutes(to api: Routes) {
        api.post("appointments", .roles(.patient), use: book)
        api.get("appointments", .roles(.patient), use: list)
        api.get("appointments/{id}", .roles(.patient, scope: appointmentPatient), use: detail)
        api.delete("appointments/{id}", .roles(.patient, scope: appointmentPatient), use: cancel)
        api.get("appointments/{id}/pass", .roles(.patient, scope: appointmentPatient), use: pass)
        api.get("appointments/{id}/pass.svg", .roles(.patient, scope: appointmentPatient), use: passSVG)
        api.get("appointments/{id}/pass.png", .roles(.patient, scope: appointmentPatient), use: passPNG)
        api.post("checkins", .roles(.kiosk), use: checkIn)
        api.post("checkins:batch", .roles(.kiosk), use: checkInBatch)
        api.get("sites/{id}/queue", .roles(.doctor, .kiosk, scope: siteParameter), use: queue)
        api.post("appointments/{id}/grading", .roles(.doctor, scope: appointmentSite), use: grade)
        api.get("appointments/{id}/gradings", .roles(.doctor, scope: appointmentSite), use: gradings)
    }

    // MARK: Scopes

    /// The patient an appointment belongs to: only they act on it as a patient.
    var appointmentPatient: ScopeRule {
        let appointments = database.appointments
        return ScopeRule(name: "appointment-patient:id") { _, context, _ in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let owner = try await appointments.owner(ofAppointment: id) else { throw APIError.notFound("appointment_not_found", "There is no appointment \(id).") }
            return ScopePath(patientId: owner.patientId)
        }
    }

    /// The site an appointment is at: the staff of that site (or above it) act on it.
    var appointmentSite: ScopeRule {
        let appointments = database.appointments
        return ScopeRule(name: "appointment-site:id") { _, context, directory in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let owner = try await appointments.owner(ofAppointment: id), let path = try await directory.path(of: .site(owner.siteId)) else {
                throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
            }
            return path
        }
    }

    var siteParameter: ScopeRule {
        ScopeRule(name: "site:id") { _, context, directory in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let path = try await directory.path(of: .site(id)) else { throw APIError.notFound("site_not_found", "There is no site \(id).") }
            return path
        }
    }

    // MARK: Booking

    struct AppointmentView: Encodable {
        var id: Int
        var status: AppointmentRepository.Status
        var siteId: Int
        var siteName: String
        var slotId: Int
        var date: Day
        var start: String
        var end: String
        var startsAt: Int64
        var endsAt: Int64
        var precheckId: Int
        var level: TriageLevel
        var createdAt: Int64
        var cancelledAt: Int64?
        var checkedInAt: Int64?
        var queueNumber: Int?
        var grade: PatientGrade?

        init(_ appointment: AppointmentRepository.Appointment) {
            id = appointment.id
            status = appointment.status
            siteId = appointment.siteId
            siteName = appointment.siteName
            slotId = appointment.slotId
            date = appointment.date
            start = appointment.start
            end = appointment.end
            startsAt = appointment.startsAt
            endsAt = appointment.endsAt
            precheckId = appointment.precheckId
            level = appointment.level
            createdAt = appointment.createdAt
            cancelledAt = appointment.cancelledAt
            checkedInAt = appointment.checkedInAt
            queueNumber = appointment.queueNumber
            grade = appointment.grade
        }
    }

    struct Booking: Decodable {
        var slotId: Int
        var precheckId: Int
    }

    @Sendable func book(_ request: Request, context: AppRequestContext) async throws -> Response {
        let patientId = try context.requireIdentity().requirePatientId()
        let body = try await JSONBody.decode(Booking.self, from: request, context: context)
        guard body.slotId >= 1 else { throw APIError(.badRequest, code: "invalid_field", message: "slotId must be a positive integer.", field: "slotId") }
        guard body.precheckId >= 1 else { throw APIError(.badRequest, code: "invalid_field", message: "precheckId must be a positive integer.", field: "precheckId") }
        switch try await database.appointments.book(patientId: patientId, slotId: body.slotId, precheckId: body.precheckId, now: clock.seconds) {
        case .booked(let appointment):
            return try JSONResponse.encode(AppointmentView(appointment), status: .created, headers: [.location: "/api/v1/appointments/\(appointment.id)"])
        case .slotNotFound: throw APIError(.notFound, code: "slot_not_found", message: "There is no slot \(body.slotId).", field: "slotId")
        case .precheckNotFound: throw APIError(.notFound, code: "precheck_not_found", message: "You have no pre-check \(body.precheckId).", field: "precheckId")
        case .slotFull: throw APIError(.conflict, code: "slot_full", message: "Slot \(body.slotId) is fully booked; choose another window or site.", field: "slotId")
        case .slotEnded: throw APIError(.unprocessableContent, code: "slot_ended", message: "Slot \(body.slotId) is over; choose a later window.", field: "slotId")
        case .precheckExpired:
            throw APIError(.unprocessableContent, code: "precheck_expired", message: "Pre-check \(body.precheckId) is older than 24 hours; answer it again.", field: "precheckId")
        case .notReferring:
            throw APIError(.unprocessableContent, code: "precheck_not_referring", message: "Pre-check \(body.precheckId) advises home care: no visit is needed.", field: "precheckId")
        case .emergency:
            throw APIError(.unprocessableContent, code: "precheck_emergency", message: "Pre-check \(body.precheckId) found danger signs: call 120 now instead of booking.", field: "precheckId")
        case .siteNotSuitable(let level, let kind):
            throw APIError(.unprocessableContent, code: "site_not_suitable",
                           message: "A \(level.rawValue) triage is seen at \(level.bookableSites.map(\.rawValue).joined(separator: " or ")), not at a \(kind.rawValue).", field: "slotId")
        case .alreadyBooked(let existing):
            throw APIError(.conflict, code: "appointment_exists", message: "You already have appointment \(existing) that day; cancel it to book another.", field: "slotId")
        }
    }

    struct AppointmentList: Encodable {
        var appointments: [AppointmentView]
        var next: Int?
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let patientId = try context.requireIdentity().requirePatientId()
        let limit = try RequestParameters.nonNegativeInteger("limit", in: request) ?? 50
        guard (1...200).contains(limit) else { throw APIError.invalidParameter("limit", "limit must be between 1 and 200.") }
        let offset = try RequestParameters.nonNegativeInteger("offset", in: request) ?? 0
        guard offset <= 1_000_000 else { throw APIError.invalidParameter("offset", "offset must be at most 1000000.") }
        let appointments = try await database.appointments.appointments(patientId: patientId, limit: limit, offset: offset)
        return try JSONResponse.encode(AppointmentList(appointments: appointments.map(AppointmentView.init), next: appointments.count == limit ? offset + limit : nil))
    }

    func appointment(_ context: AppRequestContext) async throws -> AppointmentRepository.Appointment {
        let id = try RequestParameters.positiveInteger("id", in: context)
        guard let appointment = try await database.appointments.appointment(id: id) else { throw APIError.notFound("appointment_not_found", "There is no appointment \(id).") }
        return appointment
    }

    @Sendable func detail(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(AppointmentView(try await appointment(context)))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let patientId = try context.requireIdentity().requirePatientId()
        let id = try RequestParameters.positiveInteger("id", in: context)
        switch try await database.appointments.cancel(id: id, patientId: patientId, now: clock.seconds) {
        case .cancelled(let appointment):
            try await audit.record("appointment_cancel", target: "appointment:\(id)", result: "success", context: context)
            return try JSONResponse.encode(AppointmentView(appointment))
        case .notFound: throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
        case .checkedIn: throw APIError(.conflict, code: "appointment_checked_in", message: "Appointment \(id) is checked in; it cannot be cancelled.")
        case .noShow: throw APIError(.conflict, code: "appointment_no_show", message: "Appointment \(id) was released as a no-show.")
        }
    }

    // MARK: The pass

    struct PassView: Encodable {
        var token: String
        var notBefore: Int64
        var expiresAt: Int64
        var appointmentId: Int
        var siteId: Int
    }

    func passOf(_ context: AppRequestContext) async throws -> (AppointmentRepository.Appointment, String) {
        let appointment = try await appointment(context)
        switch appointment.status {
        case .cancelled: throw APIError(.gone, code: "appointment_cancelled", message: "Appointment \(appointment.id) was cancelled; its pass is void.")
        case .noShow: throw APIError(.gone, code: "appointment_no_show", message: "Appointment \(appointment.id) was released as a no-show; its pass is void.")
        case .booked, .checkedIn: break
        }
        guard let token = appointment.passToken else { throw APIError.notFound("pass_not_found", "Appointment \(appointment.id) has no pass.") }
        return (appointment, token)
    }

    static let noStore: HTTPFields = [.cacheControl: "private, no-store"]

    @Sendable func pass(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (appointment, token) = try await passOf(context)
        let claims = appointment.pass
        return try JSONResponse.encode(PassView(token: token, notBefore: claims.notBefore, expiresAt: claims.expiresAt, appointmentId: appointment.id,
                                                siteId: appointment.siteId), headers: Self.noStore)
    }

    @Sendable func passSVG(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (_, token) = try await passOf(context)
        var headers = Self.noStore
        headers[.contentType] = "image/svg+xml"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try QRCode(token).svg)))
    }

    @Sendable func passPNG(_ request: Request, context: AppRequestContext) async throws -> Response {
        let scale = try RequestParameters.nonNegativeInteger("scale", in: request) ?? 6
        guard (1...16).contains(scale) else { throw APIError.invalidParameter("scale", "scale must be between 1 and 16 pixels per module.") }
        let (_, token) = try await passOf(context)
        var headers = Self.noStore
        headers[.contentType] = "image/png"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try QRCode(token).png(scale: scale))))
    }

    // MARK: Check-in

    /// The sites a kiosk account stands at.
    func kioskSites(_ identity: Identity) throws -> Set<Int> {
        let sites = Set(identity.assignments.compactMap { assignment -> Int? in
            guard assignment.role == .kiosk, case .site(let id) = assignment.scope else { return nil }
            return id
        })
        guard !sites.isEmpty else { throw APIError(.forbidden, code: "forbidden_scope", message: "A kiosk account must be bound to a site (scope site:ID) to check passes in.") }
        return sites
    }

    static func passError(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> APIError {
        APIError(status, code: code, message: message, field: "token")
    }

    /// Signature, type and window of a pass as of `at`, then the kiosk's site.
    func verify(_ token: String, at: Int64, sites: Set<Int>) throws -> VisitPassClaims {
        guard token.utf8.count <= 2048 else { throw Self.passError(.unprocessableContent, "pass_malformed", "The pass is longer than any visit pass.") }
        let claims: [String: Any]
        do {
            claims = try SignedToken.verify(token, publicKeys: database.protection.keys.verificationKeys, now: Date(timeIntervalSince1970: TimeInterval(at)),
                                            expectedType: VisitPassClaims.type)
        } catch let error as SignedToken.VerificationError {
            switch error {
            case .malformed(let why): throw Self.passError(.unprocessableContent, "pass_malformed", "Not a visit pass: \(why).")
            case .wrongType(_, let found): throw Self.passError(.unprocessableContent, "pass_malformed", "A \(found) token is not a visit pass.")
            case .unknownKey(let kid): throw Self.passError(.unprocessableContent, "pass_invalid_signature", "The pass was signed by key \(kid), which this network never published.")
            case .badSignature: throw Self.passError(.unprocessableContent, "pass_invalid_signature", "The pass's signature does not match its content: it was altered or forged.")
            case .notYetValid(let from):
                throw Self.passError(.unprocessableContent, "pass_not_yet_valid", "The pass is valid from \(Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(from)))); come back then.")
            case .expired(let at):
                throw Self.passError(.unprocessableContent, "pass_expired", "The pass expired at \(Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(at)))); book again.")
            }
        }
        guard let pass = VisitPassClaims(verified: claims) else { throw Self.passError(.unprocessableContent, "pass_malformed", "The pass lacks its appointment, site or id.") }
        guard sites.contains(pass.siteId) else {
            throw Self.passError(.unprocessableContent, "pass_wrong_site", "This pass is for site \(pass.siteId), not this kiosk's; send the patient there.")
        }
        return pass
    }

    /// What a check-in outcome means for the kiosk: nil when checked in.
    static func refusal(_ outcome: AppointmentRepository.CheckInOutcome) -> APIError? {
        switch outcome {
        case .checkedIn: nil
        case .unknownAppointment: passError(.conflict, "pass_cancelled", "The pass's appointment no longer exists.")
        case .cancelled: passError(.conflict, "pass_cancelled", "The appointment of this pass was cancelled.")
        case .alreadyUsed(let appointment):
            passError(.conflict, "pass_already_used", "This pass was checked in at \(appointment.checkedInAt.map { Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval($0))) } ?? "an earlier scan") (queue number \(appointment.queueNumber.map(String.init) ?? "?")).")
        case .released: passError(.unprocessableContent, "pass_expired", "The appointment was released as a no-show; book again.")
        }
    }

    struct TokenBody: Decodable {
        var token: String
    }

    struct CheckInView: Encodable {
        var appointmentId: Int
        var siteId: Int
        var queueNumber: Int
        var checkedInAt: Int64
        var start: String
        var end: String
    }

    @Sendable func checkIn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let sites = try kioskSites(identity)
        let token = try await JSONBody.decode(TokenBody.self, from: request, context: context).token.trimmingCharacters(in: .whitespacesAndNewlines)
        let now = clock.seconds
        let pass: VisitPassClaims
        do {
            pass = try verify(token, at: now, sites: sites)
        } catch let error as APIError {
            try await audit.record("checkin", target: "site:\(sites.sorted().map(String.init).joined(separator: ","))", result: error.code, context: context)
            throw error
        }
        let outcome = try await database.appointments.checkIn(pass, by: identity.accountId, at: now, now: now)
        if let refusal = Self.refusal(outcome) {
            try await audit.record("checkin", target: "appointment:\(pass.appointmentId)", result: refusal.code, context: context)
            throw refusal
        }
        guard case .checkedIn(let appointment) = outcome else { throw APIError.internalError }
        try await audit.record("checkin", target: "appointment:\(appointment.id)", result: "success", context: context, detail: "queue \(appointment.queueNumber ?? 0)")
        return try JSONResponse.encode(CheckInView(appointmentId: appointment.id, siteId: appointment.siteId, queueNumber: appointment.queueNumber ?? 0,
                                                   checkedInAt: appointment.checkedInAt ?? now, start: appointment.start, end: appointment.end))
    }

    struct OfflineScan: Decodable {
        var token: String
        var scannedAt: Int64
    }

    struct OfflineBatch: Decodable {
        var checkins: [OfflineScan]
    }

    struct OfflineResultView: Encodable {
        var index: Int
        var status: String
        var code: String?
        var message: String?
        var appointmentId: Int?
        var queueNumber: Int?
        /// The same scan was uploaded before: its recorded answer, repeated.
        var duplicate: Bool?
    }

    struct OfflineResults: Encodable {
        var results: [OfflineResultView]
    }

    /// Scans a kiosk verified offline, judged as of when they were scanned; each once.
    @Sendable func checkInBatch(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let sites = try kioskSites(identity)
        let batch = try await JSONBody.decode(OfflineBatch.self, from: request, context: context)
        guard (1...200).contains(batch.checkins.count) else {
            throw APIError(.badRequest, code: "invalid_field", message: "checkins must hold 1–200 scans.", field: "checkins")
        }
        let now = clock.seconds
        var results: [OfflineResultView] = []
        // Oldest scan first: queue numbers follow arrival.
        for (index, scan) in batch.checkins.enumerated().sorted(by: { ($0.element.scannedAt, $0.offset) < ($1.element.scannedAt, $1.offset) }) {
            guard scan.scannedAt <= now + 60, scan.scannedAt >= now - 86_400 else {
                results.append(OfflineResultView(index: index, status: "rejected", code: "scan_time_invalid",
                                                 message: "scannedAt must be within the last 24 hours and not in the future (kiosk clock?)."))
                continue
            }
            let pass: VisitPassClaims
            do {
                pass = try verify(scan.token.trimmingCharacters(in: .whitespacesAndNewlines), at: scan.scannedAt, sites: sites)
            } catch let error as APIError {
                results.append(OfflineResultView(index: index, status: "rejected", code: error.code, message: error.message))
                continue
            }
            let result = try await database.appointments.reconcileOffline(pass, by: identity.accountId, scannedAt: scan.scannedAt, now: now) { outcome in
                Self.refusal(outcome).map { ("rejected", $0.code) } ?? ("checked_in", nil)
            }
            results.append(OfflineResultView(index: index, status: result.status, code: result.code,
                                             message: result.duplicate ? "This scan was reconciled before; this is that answer." : nil,
                                             appointmentId: pass.appointmentId, queueNumber: result.queueNumber, duplicate: result.duplicate ? true : nil))
        }
        let checkedIn = results.filter { $0.status == "checked_in" && $0.duplicate == nil }.count
        let rejected = results.filter { $0.status == "rejected" && $0.duplicate == nil }.count
        try await audit.record("checkin_offline", target: "site:\(sites.sorted().map(String.init).joined(separator: ","))", result: "success", context: context,
                               detail: "\(batch.checkins.count) scans: \(checkedIn) checked in, \(rejected) rejected, \(batch.checkins.count - checkedIn - rejected) repeated")
        return try JSONResponse.encode(OfflineResults(results: results.sorted { $0.index < $1.index }))
    }

    // MARK: The site's queue and grading

    struct QueueView: Encodable {
        struct Entry: Encodable {
            var appointmentId: Int
            var queueNumber: Int?
            var checkedInAt: Int64?
            var patientName: String?
            var level: TriageLevel
            var reasons: [TriageRuleTable.Reason]
            var grade: PatientGrade?
        }

        var siteId: Int
        var date: Day
        var patients: [Entry]
    }

    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        let today = Day(shanghaiTimeOf: clock.seconds)
        let day = try RequestParameters.day("date", in: request) ?? today
        guard abs(day - today) <= 30 else { throw APIError.invalidParameter("date", "date must be within 30 days of today.") }
        let protection = database.protection
        let entries = try await database.appointments.queue(siteId: id, date: day).map { appointment, sealedName, reasons in
            QueueView.Entry(appointmentId: appointment.id, queueNumber: appointment.queueNumber, checkedInAt: appointment.checkedInAt,
                            patientName: sealedName.flatMap { try? protection.open($0) }.map(PersonalData.maskName),
                            level: appointment.level,
                            reasons: (try? JSONDecoder().decode([TriageRuleTable.Reason].self, from: Data(reasons.utf8))) ?? [],
                            grade: appointment.grade)
        }
        return try JSONResponse.encode(QueueView(siteId: id, date: day, patients: entries))
    }

    struct GradingBody: Decodable {
        var grade: String
        var note: String?
    }

    struct GradingView: Encodable {
        struct Entry: Encodable {
            var grade: PatientGrade
            var routing: Routing
            var note: String?
            var gradedBy: Int
            var gradedAt: Int64

            init(_ grading: AppointmentRepository.Grading) {
                grade = grading.grade
                routing = grading.routing
                note = grading.note
                gradedBy = grading.gradedBy
                gradedAt = grading.gradedAt
            }
        }

        var appointmentId: Int
        var grade: PatientGrade
        var routing: Routing
        var advice: String
        var followUpDays: Int?
        var gradedBy: Int
        var gradedAt: Int64
        var history: [Entry]
    }

    static func view(_ appointmentId: Int, _ history: [AppointmentRepository.Grading]) -> GradingView? {
        guard let latest = history.last else { return nil }
        return GradingView(appointmentId: appointmentId, grade: latest.grade, routing: latest.routing, advice: latest.grade.advice,
                           followUpDays: latest.grade.followUpDays, gradedBy: latest.gradedBy, gradedAt: latest.gradedAt,
                           history: history.map(GradingView.Entry.init))
    }

    @Sendable func grade(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let id = try RequestParameters.positiveInteger("id", in: context)
        let body = try await JSONBody.decode(GradingBody.self, from: request, context: context)
        guard let grade = PatientGrade(rawValue: body.grade) else {
            throw APIError(.badRequest, code: "invalid_field", message: "grade must be one of \(PatientGrade.allCases.map(\.rawValue).joined(separator: ", ")).", field: "grade")
        }
        let note = body.note?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let note {
            guard note.unicodeScalars.count <= 500 else { throw APIError(.badRequest, code: "invalid_field", message: "note must have at most 500 characters.", field: "note") }
            guard !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" || $0.value == 0x7F }) else {
                throw APIError(.badRequest, code: "invalid_field", message: "note must not contain control characters.", field: "note")
            }
        }
        switch try await database.appointments.grade(appointmentId: id, grade: grade, note: note?.isEmpty == true ? nil : note, by: identity.accountId, now: clock.seconds) {
        case .graded(_, let history):
            try await audit.record("grading", target: "appointment:\(id)", result: "success", context: context, detail: "\(grade.rawValue) → \(grade.routing.rawValue)")
            guard let view = Self.view(id, history) else { throw APIError.internalError }
            return try JSONResponse.encode(view, status: .created)
        case .notFound: throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
        case .notCheckedIn: throw APIError(.conflict, code: "not_checked_in", message: "Appointment \(id) is not checked in; grade patients you have seen.")
        }
    }

    struct GradingHistory: Encodable {
        var appointmentId: Int
        var history: [GradingView.Entry]
    }

    @Sendable func gradings(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        let history = try await database.appointments.gradings(appointmentId: id)
        return try JSONResponse.encode(GradingHistory(appointmentId: id, history: history.map(GradingView.Entry.init)))
    }
}
