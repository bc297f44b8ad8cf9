import Foundation
import Synchronization

/// Confirms that a person with this name holds this resident ID number. Production plugs in
/// a real source (the public-security identity check, a carrier's real-name record, a face
/// match); there is none here, so demo mode uses ``DevIdentityRegister`` and anything else
/// confirms nothing: a self-declared number stays `unverified` rather than passing for checked.
public protocol IdentityVerifier: Sendable {
    /// True when the source confirms the pair. Throws when the source cannot be reached.
    func confirms(name: String, idNumber: String) async throws -> Bool
}

/// No verification source configured: numbers are recorded but never verified.
public struct UnconfiguredIdentityVerifier: IdentityVerifier {
    public init() {}
    public func confirms(name: String, idNumber: String) async throws -> Bool { false }
}

/// A stand-in population register, in memory: it confirms the (name, ID number) pairs it was
/// told about, at `POST /api/v1/dev/identity-register` in demo mode only.
public final class DevIdentityRegister: IdentityVerifier {
    private let people = Mutex<Set<String>>([])
    /// Oldest entries are not tracked; the register is for demos and tests.
    private let capacity = 10_000

    public init() {}

    public func register(name: String, idNumber: String) {
        people.withLock { people in
            if people.count >= capacity { people.removeAll() }
            people.insert(Self.key(name, idNumber))
        }
    }

    public func confirms(name: String, idNumber: String) async throws -> Bool {
        people.withLock { $0.contains(Self.key(name, idNumber)) }
    }

    private static func key(_ name: String, _ idNumber: String) -> String {
        "\(name.trimmingCharacters(in: .whitespaces))\u{0}\(idNumber.uppercased())"
    }
}
