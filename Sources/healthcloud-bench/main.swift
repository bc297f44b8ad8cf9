// Micro-benchmarks of the GM primitives the server leans on, in operations per second.
// Release build: `swift run -c release healthcloud-bench [seconds-per-measure]`.
// Each figure is the best of three timed rounds (the machine is shared and noisy).
import Foundation
import HealthCloudCrypto

let seconds = CommandLine.arguments.dropFirst().first.flatMap(Double.init) ?? 1.0

/// Runs `body` in batches for about `seconds`, three times; returns the best rate.
func rate(_ name: String, _ body: () throws -> Void) rethrows -> (String, Double) {
    var best = 0.0
    for _ in 0..<3 {
        var count = 0
        let start = ContinuousClock.now
        var elapsed = Duration.zero
        while elapsed < .seconds(seconds) {
            for _ in 0..<32 { try body() }
            count += 32
            elapsed = ContinuousClock.now - start
        }
        let secondsElapsed = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        best = max(best, Double(count) / secondsElapsed)
    }
    return (name, best)
}

let key = try SM2PrivateKey.generate()
let message = Array("HCP1.eyJhcHBvaW50bWVudCI6NDIsImV4cCI6MTc5NTkyMzgwNiwic2l0ZSI6NywidHlwIjoidmlzaXQifQ".utf8)
let signature = try key.signature(for: message)
let field = try FieldCipher(keyID: "bench", masterKey: SecureRandom.bytes(32))
let phone = "13800138000"
let envelope = try field.seal(phone)
let kilobyte = SecureRandom.bytes(1024)
let hmacKey = SecureRandom.bytes(32)

var results: [(String, Double)] = []
results.append(try rate("SM2 sign (SM3, ID 1234567812345678, DER)") { _ = try key.signature(for: message) })
results.append(rate("SM2 verify") { precondition(key.publicKey.isValidSignature(signature, for: message)) })
results.append(try rate("SM4 field seal (CBC + HMAC-SM3, 11-digit phone)") { _ = try field.seal(phone) })
results.append(try rate("SM4 field open (verify MAC + decrypt)") { _ = try field.openString(envelope) })
results.append(rate("HMAC-SM3 blind index (32-byte key, 11 bytes)") { _ = HMAC.authenticationCode(for: Array(phone.utf8), key: hmacKey) })
results.append(rate("SM3 of 1 KiB") { _ = SM3.hash(kilobyte) })
results.append(
    try rate("PBKDF2-HMAC-SM3, 60,000 iterations (one staff password check)") {
        _ = try PBKDF2.deriveKey(password: Array("Str0ng-Passw0rd".utf8), salt: hmacKey, iterations: 60_000)
    }
)

print("| operation | per second |")
print("|---|---|")
for (name, value) in results {
    print("| \(name) | \(value >= 100 ? String(Int(value.rounded())) : String(format: "%.1f", value)) |")
}
