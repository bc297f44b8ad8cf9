import CSQLite
import Foundation
import Synchronization

/// SQLite through the system libsqlite3, in WAL mode: one writer connection (so writers
/// queue in Swift instead of spinning on SQLITE_BUSY) and a few reader connections that
/// see the last committed state while a write is under way.
///
/// Statements run on the calling task's thread. They are short (microseconds to a few
/// milliseconds), and write contention waits in the pool rather than in the engine.
final class SQLiteDatabase: Database {
    public let dialect = SQLDialect.sqlite
    public let path: String
    private let writer: AsyncResourcePool<SQLiteConnection>
    private let readers: AsyncResourcePool<SQLiteConnection>

    /// Opens (creating when missing) the database file at `path`.
    public init(path: String, readerCount: Int = 4) throws {
        self.path = path
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let writerConnection = try SQLiteConnection(path: path, readOnly: false)
        try writerConnection.run("PRAGMA journal_mode = WAL")
        try writerConnection.run("PRAGMA synchronous = NORMAL")
        self.writer = AsyncResourcePool([writerConnection])
        self.readers = AsyncResourcePool(
            try (0..<max(1, readerCount)).map { _ in
                try SQLiteConnection(path: path, readOnly: true)
            }
        )
    }

    public var description: String { "sqlite:\(path)" }

    public func read<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await readers.withResource { connection in
            try await body(SQLiteExecutor(connection: connection))
        }
    }

    public func write<T: Sendable>(_ body: @Sendable (any SQLExecutor) async throws -> T) async throws -> T {
        try await writer.withResource { connection in
            try connection.run("BEGIN IMMEDIATE")
            do {
                let result = try await body(SQLiteExecutor(connection: connection))
                try connection.run("COMMIT")
                return result
            } catch {
                try? connection.run("ROLLBACK")
                throw error
            }
        }
    }

    public func close() async {
        for connection in writer.close() + readers.close() { connection.close() }
    }
}

struct SQLiteExecutor: SQLExecutor {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try connection.query(sql, binds)
    }
}

/// One libsqlite3 handle with a cache of prepared statements. Used by one task at a
/// time (the pool guarantees it), hence `@unchecked Sendable`.
final class SQLiteConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private var statements: [String: PreparedStatement] = [:]

    /// A prepared statement and, for each of its parameters, which `$n` bind it takes.
    private struct PreparedStatement {
        let pointer: OpaquePointer
        let bindIndexes: [Int]
        let columns: SQLRow.Columns
    }

    init(path: String, readOnly: Bool) throws {
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)) | SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close(db)
            throw DatabaseError.unavailable("cannot open \(path): \(message)")
        }
        self.handle = db
        sqlite3_extended_result_codes(db, 1)
        sqlite3_busy_timeout(db, 10_000)
        try run("PRAGMA foreign_keys = ON")
    }

    deinit { close() }

    func close() {
        for statement in statements.values { sqlite3_finalize(statement.pointer) }
        statements = [:]
        if let handle { sqlite3_close_v2(handle) }
        handle = nil
    }

    /// Runs SQL without parameters or results (pragmas, transaction control).
    func run(_ sql: String) throws {
        guard let handle else { throw DatabaseError.closed }
        var errorMessage: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errorMessage)
        if rc != SQLITE_OK {
            let message = errorMessage.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
            sqlite3_free(errorMessage)
            throw Self.error(code: rc, message: message)
        }
    }

    func query(_ sql: String, _ binds: [SQLValue]) throws -> [SQLRow] {
        let statement = try prepared(sql)
        let pointer = statement.pointer
        defer {
            sqlite3_reset(pointer)
            sqlite3_clear_bindings(pointer)
        }
        for (parameter, bindIndex) in statement.bindIndexes.enumerated() {
            guard bindIndex >= 0, bindIndex < binds.count else {
                throw DatabaseError.engine("statement needs bind $\(bindIndex + 1), got \(binds.count): \(sql)")
            }
            try bind(binds[bindIndex], at: Int32(parameter + 1), in: pointer)
        }
        var rows: [SQLRow] = []
        while true {
            let rc = sqlite3_step(pointer)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw Self.error(code: rc, message: String(cString: sqlite3_errmsg(handle))) }
            var values: [SQLValue] = []
            values.reserveCapacity(statement.columns.names.count)
            for column in 0..<Int32(statement.columns.names.count) {
                values.append(Self.value(of: pointer, column: column))
            }
            rows.append(SQLRow(columns: statement.columns, values: values))
        }
        return rows
    }

    private func prepared(_ sql: String) throws -> PreparedStatement {
        if let cached = statements[sql] { return cached }
        guard let handle else { throw DatabaseError.closed }
        var pointer: OpaquePointer?
        let rc = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard rc == SQLITE_OK, let pointer else {
            throw Self.error(code: rc, message: "\(String(cString: sqlite3_errmsg(handle))) in: \(sql)")
        }
        let parameterCount = sqlite3_bind_parameter_count(pointer)
        var bindIndexes: [Int] = []
        for parameter in stride(from: Int32(1), through: parameterCount, by: 1) {
            // `$7` is a named parameter to SQLite; its name tells which bind it takes.
            let name = sqlite3_bind_parameter_name(pointer, parameter).map { String(cString: $0) } ?? ""
            guard name.hasPrefix("$"), let number = Int(name.dropFirst()), number >= 1 else {
                sqlite3_finalize(pointer)
                throw DatabaseError.engine("placeholders must be $1, $2, …; found '\(name)' in: \(sql)")
            }
            bindIndexes.append(number - 1)
        }
        let columnNames = (0..<sqlite3_column_count(pointer)).map { String(cString: sqlite3_column_name(pointer, $0)) }
        let statement = PreparedStatement(pointer: pointer, bindIndexes: bindIndexes, columns: SQLRow.Columns(columnNames))
        statements[sql] = statement
        return statement
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    private func bind(_ value: SQLValue, at index: Int32, in statement: OpaquePointer) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(statement, index)
        case .integer(let v): rc = sqlite3_bind_int64(statement, index, v)
        case .real(let v): rc = sqlite3_bind_double(statement, index, v)
        case .text(let s): rc = sqlite3_bind_text(statement, index, s, -1, Self.transient)
        case .blob(let b):
            rc = b.withUnsafeBytes { sqlite3_bind_blob(statement, index, $0.baseAddress, Int32($0.count), Self.transient) }
        }
        guard rc == SQLITE_OK else { throw Self.error(code: rc, message: "bind \(index)") }
    }

    private static func value(of statement: OpaquePointer, column: Int32) -> SQLValue {
        switch sqlite3_column_type(statement, column) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(statement, column))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(statement, column))
        case SQLITE_TEXT: return .text(String(cString: sqlite3_column_text(statement, column)))
        case SQLITE_BLOB:
            let count = Int(sqlite3_column_bytes(statement, column))
            guard count > 0, let base = sqlite3_column_blob(statement, column) else { return .blob([]) }
            return .blob(Array(UnsafeRawBufferPointer(start: base, count: count)))
        default: return .null
        }
    }

    private static func error(code: Int32, message: String) -> DatabaseError {
        switch code {
        // SQLITE_CONSTRAINT_UNIQUE and _PRIMARYKEY are function-like macros Swift cannot import.
        case SQLITE_CONSTRAINT | (8 << 8), SQLITE_CONSTRAINT | (6 << 8): .uniqueViolation(message)
        case let c where c & 0xff == SQLITE_CONSTRAINT: .constraintViolation(message)
        case SQLITE_CANTOPEN, SQLITE_NOTADB, SQLITE_READONLY: .unavailable(message)
        default: .engine("sqlite error \(code): \(message)")
        }
    }
}
