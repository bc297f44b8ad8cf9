import Foundation
import HealthCloudStorage
import Logging

/// Everything the server can be told at start, from flags or the environment.
public struct AppConfiguration: Sendable {
    public static let defaultMaxBodySize = 1 << 20

    public var hostname: String
    public var port: Int
    public var database: DatabaseLocation
    /// Fill an empty database with demo data and open the demo-only routes.
    public var demo: Bool
    public var logLevel: Logger.Level
    public var maxBodySize: Int
    /// Lifetimes, lockout and hashing cost of sign-in.
    public var identity = IdentityPolicy()
    /// Where keys and demo files live (default: beside the SQLite file, else `data/`).
    public var dataDirectory: String?
    /// The key store (default: `<data directory>/keys`).
    public var keysDirectory: String?
    /// How often the audit log's head is signed.
    public var auditCheckpointInterval: Duration = .seconds(300)
    /// Days a sync tombstone is kept (SyncProtocol/SPEC.md §1).
    public var syncTombstoneDays = 30
    /// Live sockets and waiting long polls per session and per account (docs/security.md).
    public var syncLive = SyncLiveLimits()
    /// Proxies whose `X-Forwarded-For` names the client (`HEALTHCLOUD_TRUSTED_PROXIES`); none by default.
    public var trustedProxies = TrustedProxies()
    /// Read deadline, idle timeout and header-size limit of every connection.
    public var connectionLimits = ConnectionLimits()
    /// The bearer credential Prometheus scrapes `/metrics` with; without one `/metrics` answers 404.
    public var metricsToken: String?

    public init(
        hostname: String = "127.0.0.1",
        port: Int = 8080,
        database: DatabaseLocation = .sqlite(path: DatabaseLocation.defaultSQLitePath),
        demo: Bool = false,
        logLevel: Logger.Level = .info,
        maxBodySize: Int = AppConfiguration.defaultMaxBodySize
    ) {
        self.hostname = hostname
        self.port = port
        self.database = database
        self.demo = demo
        self.logLevel = logLevel
        self.maxBodySize = maxBodySize
    }

    /// The directory for keys and demo files.
    public var resolvedDataDirectory: String {
        if let dataDirectory { return dataDirectory }
        if case .sqlite(let path) = database {
            let directory = (path as NSString).deletingLastPathComponent
            return directory.isEmpty ? "." : directory
        }
        return "data"
    }

    public var resolvedKeysDirectory: String {
        keysDirectory ?? (resolvedDataDirectory as NSString).appendingPathComponent("keys")
    }

    public enum ConfigurationError: Error, CustomStringConvertible {
        case invalid(variable: String, value: String, expected: String)

        public var description: String {
            switch self {
            case .invalid(let variable, let value, let expected): "\(variable)=\(value) is not valid: expected \(expected)"
            }
        }
    }

    /// Reads `HEALTHCLOUD_HOSTNAME`, `HEALTHCLOUD_PORT`, `HEALTHCLOUD_DATABASE_URL`,
    /// `HEALTHCLOUD_LOG_LEVEL`, `HEALTHCLOUD_MAX_BODY_BYTES` and the rest below over the defaults
    /// (connection limits and the metrics credential: docs/security.md).
    public static func fromEnvironment(_ environment: [String: String]) throws -> AppConfiguration {
        var configuration = AppConfiguration()
        if let hostname = environment["HEALTHCLOUD_HOSTNAME"], !hostname.isEmpty {
            configuration.hostname = hostname
        }
        if let port = environment["HEALTHCLOUD_PORT"], !port.isEmpty {
            guard let value = Int(port), (0...65535).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_PORT", value: port, expected: "a port number 0–65535")
            }
            configuration.port = value
        }
        if let url = environment["HEALTHCLOUD_DATABASE_URL"], !url.isEmpty {
            configuration.database = try DatabaseLocation(url)
        }
        if let level = environment["HEALTHCLOUD_LOG_LEVEL"], !level.isEmpty {
            guard let value = Logger.Level(rawValue: level.lowercased()) else {
                throw ConfigurationError.invalid(
                    variable: "HEALTHCLOUD_LOG_LEVEL",
                    value: level,
                    expected: "trace|debug|info|notice|warning|error|critical"
                )
            }
            configuration.logLevel = value
        }
        if let directory = environment["HEALTHCLOUD_DATA_DIR"], !directory.isEmpty {
            configuration.dataDirectory = directory
        }
        if let directory = environment["HEALTHCLOUD_KEYS_DIR"], !directory.isEmpty {
            configuration.keysDirectory = directory
        }
        if let iterations = environment["HEALTHCLOUD_PBKDF2_ITERATIONS"], !iterations.isEmpty {
            guard let value = Int(iterations), (1_000...10_000_000).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_PBKDF2_ITERATIONS", value: iterations, expected: "1000 to 10000000")
            }
            configuration.identity.passwordIterations = value
        }
        if let days = environment["HEALTHCLOUD_SYNC_TOMBSTONE_DAYS"], !days.isEmpty {
            guard let value = Int(days), (1...3650).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_SYNC_TOMBSTONE_DAYS", value: days, expected: "1 to 3650")
            }
            configuration.syncTombstoneDays = value
        }
        if let seconds = environment["HEALTHCLOUD_SESSION_CACHE_SECONDS"], !seconds.isEmpty {
            guard let value = Int64(seconds), (0...60).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_SESSION_CACHE_SECONDS", value: seconds, expected: "0 to 60")
            }
            configuration.identity.sessionCacheSeconds = value
        }
        if let bytes = environment["HEALTHCLOUD_MAX_BODY_BYTES"], !bytes.isEmpty {
            guard let value = Int(bytes), value > 0 else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_MAX_BODY_BYTES", value: bytes, expected: "a positive byte count")
            }
            configuration.maxBodySize = value
        }
        if let seconds = environment["HEALTHCLOUD_READ_TIMEOUT_SECONDS"], !seconds.isEmpty {
            guard let value = Int64(seconds), (1...3600).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_READ_TIMEOUT_SECONDS", value: seconds, expected: "1 to 3600")
            }
            configuration.connectionLimits.readTimeout = .seconds(value)
        }
        if let seconds = environment["HEALTHCLOUD_IDLE_TIMEOUT_SECONDS"], !seconds.isEmpty {
            guard let value = Int64(seconds), (1...3600).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_IDLE_TIMEOUT_SECONDS", value: seconds, expected: "1 to 3600")
            }
            configuration.connectionLimits.idleTimeout = .seconds(value)
        }
        if let bytes = environment["HEALTHCLOUD_MAX_HEADER_BYTES"], !bytes.isEmpty {
            guard let value = Int(bytes), (1024...(1 << 20)).contains(value) else {
                throw ConfigurationError.invalid(variable: "HEALTHCLOUD_MAX_HEADER_BYTES", value: bytes, expected: "1024 to 1048576")
            }
            configuration.connectionLimits.maxHeaderBytes = value
        }
        if let token = environment["HEALTHCLOUD_METRICS_TOKEN"], !token.isEmpty {
            guard token.utf8.count >= 16, token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw ConfigurationError.invalid(
                    variable: "HEALTHCLOUD_METRICS_TOKEN",
                    value: "…",
                    expected: "at least 16 printable ASCII characters"
                )
            }
            configuration.metricsToken = token
        }
        if let proxies = environment["HEALTHCLOUD_TRUSTED_PROXIES"], !proxies.isEmpty {
            guard let value = TrustedProxies(proxies) else {
                throw ConfigurationError.invalid(
                    variable: "HEALTHCLOUD_TRUSTED_PROXIES",
                    value: proxies,
                    expected: "addresses or CIDR ranges, comma-separated"
                )
            }
            configuration.trustedProxies = value
        }
        for (variable, limit) in [
            ("HEALTHCLOUD_SYNC_SOCKETS_PER_SESSION", \SyncLiveLimits.socketsPerSession),
            ("HEALTHCLOUD_SYNC_SOCKETS_PER_ACCOUNT", \SyncLiveLimits.socketsPerAccount),
            ("HEALTHCLOUD_SYNC_LONG_POLLS_PER_SESSION", \SyncLiveLimits.longPollsPerSession),
            ("HEALTHCLOUD_SYNC_LONG_POLLS_PER_ACCOUNT", \SyncLiveLimits.longPollsPerAccount),
        ] {
            guard let text = environment[variable], !text.isEmpty else { continue }
            guard let value = Int(text), (1...10_000).contains(value) else {
                throw ConfigurationError.invalid(variable: variable, value: text, expected: "1 to 10000")
            }
            configuration.syncLive[keyPath: limit] = value
        }
        // Sign-in limits and lockout (docs/security.md).
        try configuration.identity.read(environment)
        return configuration
    }
}
