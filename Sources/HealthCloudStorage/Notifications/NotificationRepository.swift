import HealthCloudDomain

/// Messages to a patient (welcome, reminders, check-in confirmations, grading advice), synced to
/// the patient's devices as the `notifications` collection.
public struct NotificationRepository: Sendable {
    let db: Repositories

    public struct Notification: Sendable, Equatable {
        public var id: Int
        public var patientId: Int
        public var kind: String
        public var title: String
        public var body: String
        public var createdAt: Int64
        public var readAt: Int64?
    }

    /// Creates a notification in the caller's transaction; returns its id.
    @discardableResult
    public func create(patientId: Int, kind: String, title: String, body: String, now: Int64) async throws -> Int {
        try await db.write { db in
            let (id, record) = try await db.notifications.insert(patientId: patientId, kind: kind, title: title, body: body, now: now)
            try await db.sync.put([record], now: now)
            return id
        }
    }

    /// Stores a notification in the caller's transaction and returns its sync record, for the
    /// caller to write with its own records (one move of the version counter for all).
    public func insert(
        patientId: Int,
        kind: String,
        title: String,
        body: String,
        now: Int64
    ) async throws -> (id: Int, record: SyncLog.Put) {
        guard
            let row = try await db.first(
                """
                INSERT INTO notifications (patient_id, kind, title, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id
                """,
                [.integer(Int64(patientId)), .text(kind), .text(title), .text(body), .integer(now)]
            )
        else { throw DatabaseError.engine("no id returned") }
        let id = try row.int("id")
        return (id, Self.record(Notification(id: id, patientId: patientId, kind: kind, title: title, body: body, createdAt: now, readAt: nil)))
    }

    public enum ReadOutcome: Sendable, Equatable {
        case marked
        case alreadyRead
        case notFound
    }

    /// The patient read it (idempotent: a second mark changes nothing).
    public func markRead(id: Int, patientId: Int, now: Int64) async throws -> ReadOutcome {
        try await db.write { db in
            guard
                let row = try await db.first(
                    "SELECT id, patient_id, kind, title, body, created_at, read_at FROM notifications WHERE id = $1 AND patient_id = $2",
                    [.integer(Int64(id)), .integer(Int64(patientId))]
                )
            else { return .notFound }
            guard try row.optionalInt("read_at") == nil,
                try await db.first(
                    "UPDATE notifications SET read_at = $1 WHERE id = $2 AND read_at IS NULL RETURNING id",
                    [.integer(now), .integer(Int64(id))]
                ) != nil
            else { return .alreadyRead }
            try await db.notifications.publish(
                Notification(
                    id: id,
                    patientId: patientId,
                    kind: try row.string("kind"),
                    title: try row.string("title"),
                    body: try row.string("body"),
                    createdAt: try row.int64("created_at"),
                    readAt: now
                ),
                now: now
            )
            return .marked
        }
    }

    func publish(_ notification: Notification, now: Int64) async throws {
        try await db.sync.put([Self.record(notification)], now: now)
    }

    static func record(_ notification: Notification) -> SyncLog.Put {
        SyncLog.Put(
            collection: "notifications",
            id: String(notification.id),
            audience: .patient(notification.patientId),
            data: .object([
                "kind": .string(notification.kind), "title": .string(notification.title), "body": .string(notification.body),
                "createdAt": .integer(notification.createdAt),
                "readAt": notification.readAt.map(JSONValue.integer) ?? .null,
            ])
        )
    }

    public func list(patientId: Int) async throws -> [Notification] {
        try await db.query(
            "SELECT id, patient_id, kind, title, body, created_at, read_at FROM notifications WHERE patient_id = $1 ORDER BY id",
            [.integer(Int64(patientId))]
        ).map {
            Notification(
                id: try $0.int("id"),
                patientId: try $0.int("patient_id"),
                kind: try $0.string("kind"),
                title: try $0.string("title"),
                body: try $0.string("body"),
                createdAt: try $0.int64("created_at"),
                readAt: try $0.optionalInt("read_at").map(Int64.init)
            )
        }
    }
}
