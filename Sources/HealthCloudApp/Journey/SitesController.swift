import Foundation
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// Fever clinics and sentinels: the list a patient chooses from (distance, free places, the
/// latest reported wait), one day's slots of a site, and the site's queue of checked-in patients.
struct SitesController {
    let database: AppDatabase
    let catalog: SiteCatalog
    let clock: AppClock

    func addRoutes(to api: Routes) {
        api.get("sites", .open, use: sites)
        api.get("sites/{id}/slots", .open, use: slots)
        api.get("sites/{id}/queue", .roles(.doctor, .kiosk, scope: siteParameter), use: queue)
    }

    var siteParameter: ScopeRule {
        ScopeRule(name: "site:id") { _, context, directory in
            let id = try RequestParameters.positiveInteger("id", in: context)
            guard let path = try await directory.path(of: .site(id)) else { throw APIError.notFound("site_not_found", "There is no site \(id).") }
            return path
        }
    }

    struct SiteList: Encodable {
        var sites: [SiteCatalog.View]
    }

    @Sendable func sites(_ request: Request, context: AppRequestContext) async throws -> Response {
        let kinds: [SiteKind]
        switch request.uri.queryParameters["service"].map(String.init) ?? "all" {
        case "fever": kinds = [.feverClinic]
        case "sentinel": kinds = [.feverSentinel]
        case "all": kinds = [.feverClinic, .feverSentinel]
        default: throw APIError.invalidParameter("service", "service must be fever, sentinel or all.")
        }
        let latText = request.uri.queryParameters["lat"].map(String.init)
        let lngText = request.uri.queryParameters["lng"].map(String.init)
        var location: (lat: Double, lng: Double)?
        switch (latText, lngText) {
        case (nil, nil): location = nil
        case (let lat?, let lng?):
            guard let latitude = Self.decimal(lat), (-90...90).contains(latitude) else {
                throw APIError.invalidParameter("lat", "lat must be a latitude between -90 and 90.")
            }
            guard let longitude = Self.decimal(lng), (-180...180).contains(longitude) else {
                throw APIError.invalidParameter("lng", "lng must be a longitude between -180 and 180.")
            }
            location = (latitude, longitude)
        case (nil, _): throw APIError.invalidParameter("lat", "lat and lng go together: lng was given without lat.")
        case (_, nil): throw APIError.invalidParameter("lng", "lat and lng go together: lat was given without lng.")
        }
        let district = request.uri.queryParameters["district"].map(String.init)
        if let district, !District.isWellFormedCode(district) {
            throw APIError.invalidParameter("district", "district must be a 6-digit district code.")
        }
        let limit = try RequestParameters.nonNegativeInteger("limit", in: request) ?? 20
        guard (1...100).contains(limit) else { throw APIError.invalidParameter("limit", "limit must be between 1 and 100.") }
        return try JSONResponse.encode(
            SiteList(sites: try await catalog.ranked(kinds: kinds, districtCode: district, location: location, limit: limit, now: clock.seconds))
        )
    }

    /// A plain decimal (`31.21`, `-0.5`): not hex, not `nan`, not an exponent.
    static func decimal(_ text: String) -> Double? {
        guard !text.isEmpty, text.count <= 32, text.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == "." || $0 == "-") }) else { return nil }
        return Double(text).flatMap { $0.isFinite ? $0 : nil }
    }

    struct SlotView: Encodable {
        var id: Int
        var start: String
        var end: String
        var startsAt: Int64
        var endsAt: Int64
        var capacity: Int
        var booked: Int
        var free: Int
        var bookable: Bool
    }

    struct SlotList: Encodable {
        var siteId: Int
        var date: Day
        var slots: [SlotView]
    }

    @Sendable func slots(_ request: Request, context: AppRequestContext) async throws -> Response {
        let id = try RequestParameters.positiveInteger("id", in: context)
        let now = clock.seconds
        let today = Day(shanghaiTimeOf: now)
        let day = try RequestParameters.day("date", in: request) ?? today
        guard day >= today, day - today <= 6 else { throw APIError.invalidParameter("date", "date must be between \(today) and \(today + 6).") }
        guard let site = try await catalog.site(id: id) else { throw APIError.notFound("site_not_found", "There is no site \(id).") }
        let slots = try await database.sites.slots(of: site, on: day)
        return try JSONResponse.encode(
            SlotList(
                siteId: id,
                date: day,
                slots: slots.map { slot in
                    SlotView(
                        id: slot.id,
                        start: slot.start,
                        end: slot.end,
                        startsAt: slot.startsAt,
                        endsAt: slot.endsAt,
                        capacity: slot.capacity,
                        booked: slot.booked,
                        free: slot.capacity - slot.booked,
                        bookable: slot.endsAt > now && slot.booked < slot.capacity
                    )
                }
            )
        )
    }

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
            QueueView.Entry(
                appointmentId: appointment.id,
                queueNumber: appointment.queueNumber,
                checkedInAt: appointment.checkedInAt,
                patientName: sealedName.flatMap { try? protection.open($0) }.map(PersonalData.maskName),
                level: appointment.level,
                reasons: (try? JSONDecoder().decode([TriageRuleTable.Reason].self, from: Data(reasons.utf8))) ?? [],
                grade: appointment.grade
            )
        }
        return try JSONResponse.encode(QueueView(siteId: id, date: day, patients: entries))
    }
}
