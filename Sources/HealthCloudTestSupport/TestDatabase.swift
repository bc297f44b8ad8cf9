import Foundation
import HealthCloudCrypto
import HealthCloudStorage
import Logging

/// Shared by every test target: fresh databases on each engine.
///
/// The engines a storage test runs on. PostgreSQL joins when the test command provides a
/// server (`HEALTHCLOUD_TEST_POSTGRES_URL`); under `CI=true` its absence fails the suite
/// (see `postgresIsAvailableUnderCI`), so it can never be skipped silently.
public enum TestEngine: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgresql

    public static let postgresURL = ProcessInfo.processInfo.environment["HEALTHCLOUD_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

    public static var available: [TestEngine] {
        postgresURL == nil ? [.sqlite] : [.sqlite, .postgresql]
    }

    public var description: String { rawValue }
}

public enum TestDatabase {
    /// One key set for the whole test process (SM2 key generation is not free).
    public static let keys: KeyMaterial = try! KeyMaterial.ephemeral()

    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    /// Gives `body` a fresh, empty, migrated database on `engine`, and removes it afterwards.
    public static func with<T: Sendable>(
        _ engine: TestEngine,
        migrate: Bool = true,
        test: String = #function,
        _ body: @Sendable (AppDatabase) async throws -> T
    ) async throws -> T {
        print("storage test \(test) on \(engine.rawValue)")
        let location = try await freshLocation(engine)
        do {
            let result = try await location.withAppDatabase(logger: logger, keys: keys) { database in
                if migrate { try await database.migrate() }
                return try await body(database)
            }
            try? await drop(location)
            return result
        } catch {
            try? await drop(location)
            throw error
        }
    }

    /// A new empty database: a temporary SQLite file, or a new PostgreSQL database on the test server.
    public static func freshLocation(_ engine: TestEngine) async throws -> DatabaseLocation {
        let name = "hc_test_\(UUID().uuidString.prefix(8).lowercased())"
        switch engine {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("healthcloud-tests")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return .sqlite(path: directory.appendingPathComponent("\(name).sqlite").path)
        case .postgresql:
            guard let url = TestEngine.postgresURL else {
                throw TestSetupError("HEALTHCLOUD_TEST_POSTGRES_URL is not set; run the tests through tools/test")
            }
            let admin = try DatabaseLocation(url)
            try await admin.withAppDatabase(logger: logger, keys: keys) { database in
                try await database.createDatabase(named: name)
            }
            guard case .postgres(let host, let port, let user, let password, _) = admin else { throw TestSetupError("not a postgres URL") }
            return .postgres(host: host, port: port, user: user, password: password, database: name)
        }
    }

    public static func drop(_ location: DatabaseLocation) async throws {
        switch location {
        case .sqlite(let path):
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        case .postgres(_, _, _, _, let name):
            guard let url = TestEngine.postgresURL else { return }
            try await DatabaseLocation(url).withAppDatabase(logger: logger, keys: keys) { database in
                try await database.dropDatabase(named: name)
            }
        }
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
