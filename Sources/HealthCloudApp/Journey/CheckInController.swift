import Foundation
import HealthCloudCrypto
import HealthCloudDomain
import HealthCloudStorage
import Hummingbird

/// The kiosk at a site's door: checks a visit pass in (signature, window, site, once), and
/// reconciles the passes it verified on its own while the network was down.
struct CheckInController {
    let database: AppDatabase
    let audit: AuditTrail
    let clock: AppClock
    let checkInPatient: CheckInPatient

    func addRoutes(to api: Routes) {
        api.post("checkins", .roles(.kiosk), use: checkIn)
        api.post("checkins:batch", .roles(.kiosk), use: checkInBatch)
    }

    /// The sites a kiosk account stands at.
    func kioskSites(_ identity: Identity) throws -> Set<Int> {
        let sites = Set(
            identity.assignments.compactMap { assignment -> Int? in
                guard assignment.role == .kiosk, case .site(let id) = assignment.scope else { return nil }
                return id
            }
        )
        guard !sites.isEmpty else {
            throw APIError(
                .forbidden,
                code: "forbidden_scope",
                message: "A kiosk account must be bound to a site (scope site:ID) to check passes in."
            )
        }
        return sites
    }

    static func passError(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> APIError {
        APIError(status, code: code, message: message, field: "token")
    }

    /// Signature, type and window of a pass as of `at`, then the kiosk's site.
    func verify(_ token: String, at: Int64, sites: Set<Int>) throws -> VisitPassClaims {
        guard token.utf8.count <= 2048 else {
            throw Self.passError(.unprocessableContent, "pass_malformed", "The pass is longer than any visit pass.")
        }
        let claims: [String: Any]
        do {
            claims = try SignedToken.verify(
                token,
                publicKeys: database.protection.keys.verificationKeys,
                now: Date(timeIntervalSince1970: TimeInterval(at)),
                expectedType: VisitPassClaims.type
            )
        } catch let error as SignedToken.VerificationError {
            switch error {
            case .malformed(let why): throw Self.passError(.unprocessableContent, "pass_malformed", "Not a visit pass: \(why).")
            case .wrongType(_, let found): throw Self.passError(.unprocessableContent, "pass_malformed", "A \(found) token is not a visit pass.")
            case .unknownKey(let kid):
                throw Self.passError(
                    .unprocessableContent,
                    "pass_invalid_signature",
                    "The pass was signed by key \(kid), which this network never published."
                )
            case .badSignature:
                throw Self.passError(
                    .unprocessableContent,
                    "pass_invalid_signature",
                    "The pass's signature does not match its content: it was altered or forged."
                )
            case .notYetValid(let from):
                throw Self.passError(
                    .unprocessableContent,
                    "pass_not_yet_valid",
                    "The pass is valid from \(Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(from)))); come back then."
                )
            case .expired(let at):
                throw Self.passError(
                    .unprocessableContent,
                    "pass_expired",
                    "The pass expired at \(Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(at)))); book again."
                )
            }
        }
        guard let pass = VisitPassClaims(verified: claims) else {
            throw Self.passError(.unprocessableContent, "pass_malformed", "The pass lacks its appointment, site or id.")
        }
        guard sites.contains(pass.siteId) else {
            throw Self.passError(
                .unprocessableContent,
                "pass_wrong_site",
                "This pass is for site \(pass.siteId), not this kiosk's; send the patient there."
            )
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
            passError(
                .conflict,
                "pass_already_used",
                "This pass was checked in at \(appointment.checkedInAt.map { Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval($0))) } ?? "an earlier scan") (queue number \(appointment.queueNumber.map(String.init) ?? "?"))."
            )
        case .released: passError(.unprocessableContent, "pass_expired", "The appointment was released as a no-show; book again.")
        case .scannedBeforeBooking(let bookedAt):
            passError(
                .unprocessableContent,
                "scan_time_invalid",
                "scannedAt is before the appointment was booked (\(Timestamp.iso8601(Date(timeIntervalSince1970: TimeInterval(bookedAt))))): kiosk clock?"
            )
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
            try await audit.record(
                "checkin",
                target: "site:\(sites.sorted().map(String.init).joined(separator: ","))",
                result: error.code,
                context: context
            )
            throw error
        }
        let outcome = try await checkInPatient.online(pass, by: Caller(identity, context: context)) { Self.refusal($0) }
        if let refusal = Self.refusal(outcome) { throw refusal }
        guard case .checkedIn(let appointment) = outcome else { throw APIError.unexpected }
        return try JSONResponse.encode(
            CheckInView(
                appointmentId: appointment.id,
                siteId: appointment.siteId,
                queueNumber: appointment.queueNumber ?? 0,
                checkedInAt: appointment.checkedInAt ?? now,
                start: appointment.start,
                end: appointment.end
            )
        )
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
        var judged: Set<Int> = []
        // Oldest scan first: queue numbers follow arrival.
        for (index, scan) in batch.checkins.enumerated().sorted(by: { ($0.element.scannedAt, $0.offset) < ($1.element.scannedAt, $1.offset) }) {
            guard scan.scannedAt <= now + 60, scan.scannedAt >= now - 86_400 else {
                results.append(
                    OfflineResultView(
                        index: index,
                        status: "rejected",
                        code: "scan_time_invalid",
                        message: "scannedAt must be within the last 24 hours and not in the future (kiosk clock?)."
                    )
                )
                continue
            }
            let pass: VisitPassClaims
            do {
                pass = try verify(scan.token.trimmingCharacters(in: .whitespacesAndNewlines), at: scan.scannedAt, sites: sites)
            } catch let error as APIError {
                results.append(OfflineResultView(index: index, status: "rejected", code: error.code, message: error.message))
                continue
            }
            if let issuedAt = pass.issuedAt, scan.scannedAt < issuedAt - 60 {
                results.append(
                    OfflineResultView(
                        index: index,
                        status: "rejected",
                        code: "scan_time_invalid",
                        message: "scannedAt is before the pass was issued: kiosk clock?",
                        appointmentId: pass.appointmentId
                    )
                )
                continue
            }
            judged.insert(index)
            let result = try await checkInPatient.offline(pass, scannedAt: scan.scannedAt, index: index, by: Caller(identity, context: context)) {
                outcome in
                Self.refusal(outcome).map { ("rejected", $0.code) } ?? ("checked_in", nil)
            }
            results.append(
                OfflineResultView(
                    index: index,
                    status: result.status,
                    code: result.code,
                    message: result.duplicate ? "This scan was reconciled before; this is that answer." : nil,
                    appointmentId: pass.appointmentId,
                    queueNumber: result.queueNumber,
                    duplicate: result.duplicate ? true : nil
                )
            )
        }
        // Scans refused before judgement (clock, signature, site) are audited here; each judged
        // one was audited in its own transaction.
        let site = "site:\(sites.sorted().map(String.init).joined(separator: ","))"
        try await audit.record(
            results.filter { !judged.contains($0.index) }.sorted { $0.index < $1.index }.map { result in
                (
                    action: "checkin_offline", target: result.appointmentId.map { "appointment:\($0)" } ?? site,
                    result: result.code ?? "rejected",
                    detail: "scan \(result.index) at \(batch.checkins[result.index].scannedAt)"
                )
            },
            context: context
        )
        return try JSONResponse.encode(OfflineResults(results: results.sorted { $0.index < $1.index }))
    }
}
