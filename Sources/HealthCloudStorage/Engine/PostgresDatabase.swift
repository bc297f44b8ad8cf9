import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// PostgreSQL through PostgresNIO's connection pool. The client must be running
/// (``run()``, as a service of the application's service group) for queries to proceed.
final class PostgresDatabase: Database, Service {
    public let dialect = SQLDialect.postgresql
    public let client: PostgresClient
    private let logger: Logger
    private let displayURL: String

    public init(configuration: PostgresClient.Configuration, displayURL: String, logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.displayURL = displayURL
    }

    public var description: String { displayURL }

    /// Runs the pool until the task is cancelled or the service group shuts down.
    public func run() async {
        await client.run()
    }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                try await body(PostgresExecutor(connection: connection, logger: logger))
            }
        } catch let error as PSQLError {
            throw PostgresExecutor.map(error)
        }
    }

    public func write<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        do {
            return try await client.withConnection { connection in
                let executor = PostgresExecutor(connection: connection, logger: logger)
                try await executor.execute("BEGIN")
                do {
                    let result = try await body(executor)
                    try await executor.execute("COMMIT")
                    return result
                } catch {
                    try? await executor.execute("ROLLBACK")
                    throw error
                }
            }
        } catch let error as PSQLError {
            throw PostgresExecutor.map(error)
        }
    }

    public func close() async {}
}

struct PostgresExecutor: SQLExecutor {
    let connection: PostgresConnection
    let logger: Logger
    var dialect: SQLDialect { .postgresql }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        var bindings = PostgresBindings(capacity: binds.count)
        for value in binds {
            switch value {
            case .null: bindings.appendNull()
            case .integer(let v): bindings.append(v)
            case .real(let v): bindings.append(v)
            case .text(let s): bindings.append(s)
            case .blob(let b): bindings.append(ByteBuffer(bytes: b))
            }
        }
        do {
            let sequence = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
            var rows: [SQLRow] = []
            var columns: SQLRow.Columns?
            for try await row in sequence {
                if columns == nil { columns = SQLRow.Columns(row.map(\.columnName)) }
                rows.append(SQLRow(columns: columns!, values: try row.map(Self.value(of:))))
            }
            return rows
        } catch let error as PSQLError {
            throw Self.map(error)
        }
    }

    private static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8, .oid: return .integer(try cell.decode(Int64.self))
        case .float4, .float8: return .real(try cell.decode(Double.self))
        case .numeric:
            let decimal = try cell.decode(Decimal.self)
            let double = NSDecimalNumber(decimal: decimal).doubleValue
            if double.rounded() == double, abs(double) < 9.0e15 { return .integer(Int64(double)) }
            return .real(double)
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea:
            var buffer = try cell.decode(ByteBuffer.self)
            return .blob(buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .uuid: return .text(try cell.decode(UUID.self).uuidString.lowercased())
        default: return .text(try cell.decode(String.self))
        }
    }

    static func map(_ error: PSQLError) -> DatabaseError {
        let state = error.serverInfo?[.sqlState]
        let message = error.serverInfo?[.message] ?? "\(error.code)"
        switch state {
        case "23505": return .uniqueViolation(message)
        case let s? where s.hasPrefix("23"): return .constraintViolation(message)
        case nil where error.code == .connectionError || error.code == .serverClosedConnection || error.code == .poolClosed:
            return .unavailable("\(error.code)")
        default: return .engine("postgresql \(state ?? "-"): \(message)")
        }
    }
}
