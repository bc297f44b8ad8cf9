import Foundation
import Logging
import PostgresNIO

/// Where the data lives, parsed from `HEALTHCLOUD_DATABASE_URL` or `--database`:
/// a `postgres://` (or `postgresql://`) URL, or else a path to a SQLite file.
public enum DatabaseLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(host: String, port: Int, user: String, password: String?, database: String)

    public static let defaultSQLitePath = "data/healthcloud.sqlite"

    public init(_ string: String) throws {
        let lowered = string.lowercased()
        guard lowered.hasPrefix("postgres://") || lowered.hasPrefix("postgresql://") else {
            let path = string.hasPrefix("sqlite://") ? String(string.dropFirst("sqlite://".count)) : string
            guard !path.isEmpty else { throw DatabaseError.invalidURL("empty SQLite path") }
            self = .sqlite(path: path)
            return
        }
        guard let components = URLComponents(string: string), let host = components.host, !host.isEmpty else {
            throw DatabaseError.invalidURL("cannot parse \(Self.redacted(string))")
        }
        let database = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        guard let user = components.user, !user.isEmpty else {
            throw DatabaseError.invalidURL("a user is required in \(Self.redacted(string))")
        }
        self = .postgres(
            host: host,
            port: components.port ?? 5432,
            user: user.removingPercentEncoding ?? user,
            password: components.password.map { $0.removingPercentEncoding ?? $0 },
            database: database.isEmpty ? user : database
        )
    }

    public var engine: SQLDialect {
        switch self {
        case .sqlite: .sqlite
        case .postgres: .postgresql
        }
    }

    /// The location without its password, safe for logs and banners.
    public var description: String {
        switch self {
        case .sqlite(let path): return "sqlite:\(path)"
        case .postgres(let host, let port, let user, _, let database): return "postgres://\(user)@\(host):\(port)/\(database)"
        }
    }

    /// Opens the database. A PostgreSQL database must also be run as a service (see ``PostgresDatabase``).
    func open(logger: Logger, maximumConnections: Int = 20) throws -> any Database {
        switch self {
        case .sqlite(let path):
            return try SQLiteDatabase(path: path)
        case .postgres(let host, let port, let user, let password, let database):
            var configuration = PostgresClient.Configuration(
                host: host,
                port: port,
                username: user,
                password: password,
                database: database,
                tls: .disable
            )
            configuration.options.maximumConnections = maximumConnections
            configuration.options.minimumConnections = 1
            return PostgresDatabase(configuration: configuration, displayURL: description, logger: logger)
        }
    }

    private static func redacted(_ string: String) -> String {
        guard var components = URLComponents(string: string) else { return "<unparseable URL>" }
        if components.password != nil { components.password = "***" }
        return components.string ?? "<unparseable URL>"
    }
}
