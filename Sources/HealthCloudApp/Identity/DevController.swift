import Logging
import HTTPTypes
import Foundation
import HealthCloudDomain
import Hummingbird

/// Demo-only helpers. Registered only when the server runs with `--demo`; elsewhere the
/// paths do not exist (404).
struct DevController {
    let sink: DevSMSSink

    struct Outbox: Encodable {
        var messages: [DevSMSSink.Message]
    }

    func addRoutes(to api: Routes) {
        api.get("dev/sms-outbox", .open) { request, _ in
            guard let phone = request.uri.queryParameters["phone"].map(String.init), PersonalData.isValidPhone(phone) else {
                throw APIError.invalidParameter("phone", "phone must be an 11-digit mainland mobile number.")
            }
            return try JSONResponse.encode(Outbox(messages: sink.messages(to: phone)))
        }
    }
}
