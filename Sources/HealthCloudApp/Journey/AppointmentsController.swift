import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// A patient's appointments — booking, cancelling, the visit pass and its QR code — and the
/// doctor's grading of a patient seen at the site.
struct AppointmentsController {
    let database: AppDatabase
    let clock: AppClock
    let cancelAppointment: CancelAppointment
    let gradePatient: GradePatient

    func addRoutes(to api: Routes) {
        api.post("appointments", .roles(.patient), use: book)
        api.get("appointments", .roles(.patient), use: list)
        api.get("appointments/{id}", .roles(.patient, scope: appointmentPatient), use: detail)
        api.delete("appointments/{id}", .roles(.patient, scope: appointmentPatient), use: cancel)
        api.get("appointments/{id}/pass", .roles(.patient, scope: appointmentPatient), use: pass)
        api.get("appointments/{id}/pass.svg", .roles(.patient, scope: appointmentPatient), use: passSVG)
        api.get("appointments/{id}/pass.png", .roles(.patient, scope: appointmentPatient), use: passPNG)
        api.post("appointments/{id}/grading", .roles(.doctor, scope: appointmentSite), use: grade)
        api.get("appointments/{id}/gradings", .roles(.doctor, scope: appointmentSite), use: gradings)
    }

    // MARK: Scopes

    /// The patient an appointment belongs to: only they act on it as a patient.
    var appointmentPatient: ScopeRule {
        let appointments = database.appointments
        return ScopeRule(name: "appointment-patient:id") { _, context, _ in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let owner = try await appointments.owner(ofAppointment: id) else {
                throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
            }
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
        guard body.slotId >= 1 else {
            throw APIError(.badRequest, code: "invalid_field", message: "slotId must be a positive integer.", field: "slotId")
        }
        guard body.precheckId >= 1 else {
            throw APIError(.badRequest, code: "invalid_field", message: "precheckId must be a positive integer.", field: "precheckId")
        }
        switch try await database.appointments.book(patientId: patientId, slotId: body.slotId, precheckId: body.precheckId, now: clock.seconds) {
        case .booked(let appointment):
            return try JSONResponse.encode(
                AppointmentView(appointment),
                status: .created,
                headers: [.location: "/api/v1/appointments/\(appointment.id)"]
            )
        case .slotNotFound: throw APIError(.notFound, code: "slot_not_found", message: "There is no slot \(body.slotId).", field: "slotId")
        case .precheckNotFound:
            throw APIError(.notFound, code: "precheck_not_found", message: "You have no pre-check \(body.precheckId).", field: "precheckId")
        case .slotFull:
            throw APIError(
                .conflict,
                code: "slot_full",
                message: "Slot \(body.slotId) is fully booked; choose another window or site.",
                field: "slotId"
            )
        case .slotEnded:
            throw APIError(.unprocessableContent, code: "slot_ended", message: "Slot \(body.slotId) is over; choose a later window.", field: "slotId")
        case .precheckExpired:
            throw APIError(
                .unprocessableContent,
                code: "precheck_expired",
                message: "Pre-check \(body.precheckId) is older than 24 hours; answer it again.",
                field: "precheckId"
            )
        case .notReferring:
            throw APIError(
                .unprocessableContent,
                code: "precheck_not_referring",
                message: "Pre-check \(body.precheckId) advises home care: no visit is needed.",
                field: "precheckId"
            )
        case .emergency:
            throw APIError(
                .unprocessableContent,
                code: "precheck_emergency",
                message: "Pre-check \(body.precheckId) found danger signs: call 120 now instead of booking.",
                field: "precheckId"
            )
        case .siteNotSuitable(let level, let kind):
            throw APIError(
                .unprocessableContent,
                code: "site_not_suitable",
                message:
                    "A \(level.rawValue) triage is seen at \(level.bookableSites.map(\.rawValue).joined(separator: " or ")), not at a \(kind.rawValue).",
                field: "slotId"
            )
        case .alreadyBooked(let existing):
            throw APIError(
                .conflict,
                code: "appointment_exists",
                message: "You already have appointment \(existing) that day; cancel it to book another.",
                field: "slotId"
            )
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
        return try JSONResponse.encode(
            AppointmentList(appointments: appointments.map(AppointmentView.init), next: appointments.count == limit ? offset + limit : nil)
        )
    }

    func appointment(_ context: AppRequestContext) async throws -> AppointmentRepository.Appointment {
        let id = try RequestParameters.positiveInteger("id", in: context)
        guard let appointment = try await database.appointments.appointment(id: id) else {
            throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
        }
        return appointment
    }

    @Sendable func detail(_ request: Request, context: AppRequestContext) async throws -> Response {
        try JSONResponse.encode(AppointmentView(try await appointment(context)))
    }

    @Sendable func cancel(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        switch try await cancelAppointment.run(appointmentId: id, by: try Caller(context)) {
        case .cancelled(let appointment):
            return try JSONResponse.encode(AppointmentView(appointment))
        case .notFound: throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
        case .checkedIn:
            throw APIError(.conflict, code: "appointment_checked_in", message: "Appointment \(id) is checked in; it cannot be cancelled.")
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
        case .cancelled:
            throw APIError(.gone, code: "appointment_cancelled", message: "Appointment \(appointment.id) was cancelled; its pass is void.")
        case .noShow:
            throw APIError(.gone, code: "appointment_no_show", message: "Appointment \(appointment.id) was released as a no-show; its pass is void.")
        case .booked, .checkedIn: break
        }
        guard let token = appointment.passToken else { throw APIError.notFound("pass_not_found", "Appointment \(appointment.id) has no pass.") }
        return (appointment, token)
    }

    static let noStore: HTTPFields = [.cacheControl: "private, no-store"]

    @Sendable func pass(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (appointment, token) = try await passOf(context)
        let claims = appointment.pass
        return try JSONResponse.encode(
            PassView(
                token: token,
                notBefore: claims.notBefore,
                expiresAt: claims.expiresAt,
                appointmentId: appointment.id,
                siteId: appointment.siteId
            ),
            headers: Self.noStore
        )
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

    // MARK: Grading

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
        return GradingView(
            appointmentId: appointmentId,
            grade: latest.grade,
            routing: latest.routing,
            advice: latest.grade.advice,
            followUpDays: latest.grade.followUpDays,
            gradedBy: latest.gradedBy,
            gradedAt: latest.gradedAt,
            history: history.map(GradingView.Entry.init)
        )
    }

    @Sendable func grade(_ request: Request, context: AppRequestContext) async throws -> Response {
        let caller = try Caller(context)
        let id = try RequestParameters.positiveInteger("id", in: context)
        let body = try await JSONBody.decode(GradingBody.self, from: request, context: context)
        guard let grade = PatientGrade(rawValue: body.grade) else {
            throw APIError(
                .badRequest,
                code: "invalid_field",
                message: "grade must be one of \(PatientGrade.allCases.map(\.rawValue).joined(separator: ", ")).",
                field: "grade"
            )
        }
        let note = body.note?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let note {
            guard note.unicodeScalars.count <= 500 else {
                throw APIError(.badRequest, code: "invalid_field", message: "note must have at most 500 characters.", field: "note")
            }
            guard !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" || $0.value == 0x7F }) else {
                throw APIError(.badRequest, code: "invalid_field", message: "note must not contain control characters.", field: "note")
            }
        }
        switch try await gradePatient.run(appointmentId: id, grade: grade, note: note?.isEmpty == true ? nil : note, by: caller) {
        case .graded(_, let history):
            guard let view = Self.view(id, history) else { throw APIError.unexpected }
            return try JSONResponse.encode(view, status: .created)
        case .notFound: throw APIError.notFound("appointment_not_found", "There is no appointment \(id).")
        case .notCheckedIn:
            throw APIError(.conflict, code: "not_checked_in", message: "Appointment \(id) is not checked in; grade patients you have seen.")
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
