import Foundation
import HTTPTypes
import HealthCloudDomain
import Hummingbird
import Logging

/// Demo-only helpers. Registered only when the server runs with `--demo`; elsewhere the
/// paths do not exist (404).
struct DevController {
    let sink: DevSMSSink
    /// The stand-in verification source, when the demo uses it.
    var register: DevIdentityRegister? = nil

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
        if let register {
            // Tells the stand-in register that this person exists: their next real-name
            // submission with this name and number is verified.
            api.post("dev/identity-register", .open) { request, context in
                struct Person: Decodable {
                    var name: String
                    var idNumber: String
                }
                let person = try await JSONBody.decode(Person.self, from: request, context: context)
                guard (2...30).contains(person.name.trimmingCharacters(in: .whitespaces).count) else {
                    throw APIError(.badRequest, code: "invalid_field", message: "name must have 2 to 30 characters.", field: "name")
                }
                guard PersonalData.isValidIDNumber(person.idNumber) else {
                    throw APIError(
                        .badRequest,
                        code: "invalid_field",
                        message: "idNumber must be an 18-character resident ID number with a valid check character.",
                        field: "idNumber"
                    )
                }
                register.register(name: person.name, idNumber: person.idNumber)
                return Response(status: .noContent)
            }
        }
    }
}
