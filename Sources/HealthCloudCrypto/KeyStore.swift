import Foundation

/// All key material the server holds, loaded once at start.
public struct KeyMaterial: Sendable {
    /// Signs tokens, audit checkpoints and sync checkpoints.
    public let signingKeyID: String
    public let signingKey: SM2PrivateKey
    /// Every public key that verifies: the current one and the retired ones kept after rotation.
    public let verificationKeys: [String: SM2PublicKey]
    /// SM4 + HMAC-SM3 keys for personal data at rest, by key id.
    public let fields: FieldKeyring
    /// HMAC-SM3 key of the blind indexes (lookup of encrypted phone and ID numbers). It never
    /// rotates in place: a new one means recomputing every index.
    public let blindIndexKey: [UInt8]
    /// HMAC-SM3 key that seals access-control rows against edits behind the server's back.
    public let integrityKey: [UInt8]

    public init(
        signingKeyID: String,
        signingKey: SM2PrivateKey,
        verificationKeys: [String: SM2PublicKey],
        fields: FieldKeyring,
        blindIndexKey: [UInt8],
        integrityKey: [UInt8]
    ) {
        self.signingKeyID = signingKeyID
        self.signingKey = signingKey
        self.verificationKeys = verificationKeys
        self.fields = fields
        self.blindIndexKey = blindIndexKey
        self.integrityKey = integrityKey
    }

    /// Fresh random keys held only in memory (tests).
    public static func ephemeral() throws -> KeyMaterial {
        let signing = try SM2PrivateKey.generate()
        let kid = KeyStore.newKeyID(prefix: "sm2")
        return KeyMaterial(
            signingKeyID: kid,
            signingKey: signing,
            verificationKeys: [kid: signing.publicKey],
            fields: FieldKeyring(current: try FieldCipher(keyID: KeyStore.newKeyID(prefix: "f"), masterKey: SecureRandom.bytes(32))),
            blindIndexKey: SecureRandom.bytes(32),
            integrityKey: SecureRandom.bytes(32)
        )
    }
}

/// Keys on disk, one directory, every secret file mode 0600:
///
///     manifest.json            current and retired key ids
///     signing/<kid>.pem        SM2 private keys (PKCS#8)     signing/<kid>.pub.pem
///     field/<kid>.key          32-byte field master keys (hex)
///     index.key, integrity.key 32-byte HMAC keys (hex)
///
/// Rotation adds a new current key and keeps the old ones: old signatures still verify and
/// old envelopes still open.
public enum KeyStore {
    public enum KeyStoreError: Error, CustomStringConvertible {
        case alreadyInitialized(String)
        case missing(String)
        case corrupt(String)

        public var description: String {
            switch self {
            case .alreadyInitialized(let path): "keys already exist in \(path); use `healthcloud keys rotate` to add new ones"
            case .missing(let path): "no keys in \(path); create them with `healthcloud keys init --dir \(path)`"
            case .corrupt(let why): "key store is damaged: \(why)"
            }
        }
    }

    struct Manifest: Codable {
        struct Ring: Codable {
            var current: String
            var retired: [String]
        }

        var version = 1
        var signing: Ring
        var field: Ring
    }

    static func newKeyID(prefix: String) -> String {
        let day = Date().formatted(.iso8601.year().month().day().dateSeparator(.omitted))
        return "\(prefix)-\(day)-\(Hex.encode(SecureRandom.bytes(3)))"
    }

    public static func exists(at directory: URL) -> Bool {
        FileManager.default.fileExists(atPath: directory.appendingPathComponent("manifest.json").path)
    }

    /// Creates a complete new key set; refuses to overwrite an existing one.
    @discardableResult
    public static func initialize(at directory: URL) throws -> KeyMaterial {
        guard !exists(at: directory) else { throw KeyStoreError.alreadyInitialized(directory.path) }
        let fm = FileManager.default
        for sub in ["", "signing", "field"] {
            try fm.createDirectory(
                at: directory.appendingPathComponent(sub),
                withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700]
            )
        }
        let signingID = newKeyID(prefix: "sm2")
        let fieldID = newKeyID(prefix: "f")
        try writeSigningKey(try SM2PrivateKey.generate(), id: signingID, in: directory)
        try writeSecret(Hex.encode(SecureRandom.bytes(32)), to: directory.appendingPathComponent("field/\(fieldID).key"))
        try writeSecret(Hex.encode(SecureRandom.bytes(32)), to: directory.appendingPathComponent("index.key"))
        try writeSecret(Hex.encode(SecureRandom.bytes(32)), to: directory.appendingPathComponent("integrity.key"))
        try writeManifest(Manifest(signing: .init(current: signingID, retired: []), field: .init(current: fieldID, retired: [])), in: directory)
        return try load(from: directory)
    }

    /// Adds a new current signing and/or field key; the previous ones are kept as retired.
    @discardableResult
    public static func rotate(signing: Bool, field: Bool, at directory: URL) throws -> KeyMaterial {
        var manifest = try readManifest(in: directory)
        if signing {
            let id = newKeyID(prefix: "sm2")
            try writeSigningKey(try SM2PrivateKey.generate(), id: id, in: directory)
            manifest.signing.retired.insert(manifest.signing.current, at: 0)
            manifest.signing.current = id
        }
        if field {
            let id = newKeyID(prefix: "f")
            try writeSecret(Hex.encode(SecureRandom.bytes(32)), to: directory.appendingPathComponent("field/\(id).key"))
            manifest.field.retired.insert(manifest.field.current, at: 0)
            manifest.field.current = id
        }
        try writeManifest(manifest, in: directory)
        return try load(from: directory)
    }

    public static func load(from directory: URL) throws -> KeyMaterial {
        guard exists(at: directory) else { throw KeyStoreError.missing(directory.path) }
        let manifest = try readManifest(in: directory)
        let signingKey = try SM2PrivateKey(pemRepresentation: try read(directory.appendingPathComponent("signing/\(manifest.signing.current).pem")))
        var verification = [manifest.signing.current: signingKey.publicKey]
        for id in manifest.signing.retired {
            verification[id] = try SM2PublicKey(pemRepresentation: try read(directory.appendingPathComponent("signing/\(id).pub.pem")))
        }
        func fieldCipher(_ id: String) throws -> FieldCipher {
            guard let key = Hex.decode(try read(directory.appendingPathComponent("field/\(id).key"))), key.count == 32 else {
                throw KeyStoreError.corrupt("field key \(id) is not 32 bytes of hex")
            }
            return try FieldCipher(keyID: id, masterKey: key)
        }
        func secret(_ name: String) throws -> [UInt8] {
            guard let key = Hex.decode(try read(directory.appendingPathComponent(name))), key.count == 32 else {
                throw KeyStoreError.corrupt("\(name) is not 32 bytes of hex")
            }
            return key
        }
        return KeyMaterial(
            signingKeyID: manifest.signing.current,
            signingKey: signingKey,
            verificationKeys: verification,
            fields: FieldKeyring(current: try fieldCipher(manifest.field.current), retired: try manifest.field.retired.map(fieldCipher)),
            blindIndexKey: try secret("index.key"),
            integrityKey: try secret("integrity.key")
        )
    }

    private static func writeSigningKey(_ key: SM2PrivateKey, id: String, in directory: URL) throws {
        try writeSecret(key.pemRepresentation, to: directory.appendingPathComponent("signing/\(id).pem"))
        try write(key.publicKey.pemRepresentation, to: directory.appendingPathComponent("signing/\(id).pub.pem"), mode: 0o644)
    }

    private static func readManifest(in directory: URL) throws -> Manifest {
        do {
            return try JSONDecoder().decode(Manifest.self, from: Data(try read(directory.appendingPathComponent("manifest.json")).utf8))
        } catch let error as KeyStoreError {
            throw error
        } catch {
            throw KeyStoreError.corrupt("manifest.json: \(error)")
        }
    }

    private static func writeManifest(_ manifest: Manifest, in directory: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try write(String(decoding: try encoder.encode(manifest), as: UTF8.self), to: directory.appendingPathComponent("manifest.json"), mode: 0o600)
    }

    private static func writeSecret(_ text: String, to url: URL) throws {
        try write(text, to: url, mode: 0o600)
    }

    private static func write(_ text: String, to url: URL, mode: Int) throws {
        // Write to a temporary file with the final mode, then rename: no moment where a secret is world-readable.
        let temporary = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
            throw KeyStoreError.corrupt("cannot write \(url.path)")
        }
        if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        try FileManager.default.moveItem(at: temporary, to: url)
    }

    private static func read(_ url: URL) throws -> String {
        guard let data = FileManager.default.contents(atPath: url.path) else { throw KeyStoreError.missing(url.path) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
