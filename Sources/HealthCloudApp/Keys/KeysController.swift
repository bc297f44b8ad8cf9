import Foundation
import HTTPTypes
import HealthCloudCrypto
import Hummingbird
import Logging

/// The published public keys: anyone (a kiosk offline, a pharmacy, an auditor) verifies the
/// product's signed tokens and checkpoints with them.
struct KeysController {
    let keys: KeyMaterial

    struct PublishedKey: Encodable {
        var kid: String
        var alg = "SM2-SM3"
        var publicKeyPem: String
        var current: Bool
    }

    struct KeySet: Encodable {
        var keys: [PublishedKey]
    }

    func addRoutes(to api: Routes) {
        let body: [UInt8]
        do {
            let set = KeySet(
                keys: keys.verificationKeys.sorted { $0.key < $1.key }.map { kid, key in
                    PublishedKey(kid: kid, publicKeyPem: key.pemRepresentation, current: kid == keys.signingKeyID)
                }
            )
            body = Array(try JSONResponse.encoder.encode(set))
        } catch {
            body = Array(#"{"keys":[]}"#.utf8)
        }
        api.get("keys", .open) { _, _ in
            var response = JSONResponse.bytes(body)
            response.headers[.cacheControl] = "public, max-age=300"
            return response
        }
    }
}
