import HealthCloudDomain

/// The `reports` table keeps one column per count field, so history and rollups read plain
/// integers instead of parsing JSON: `icu.bedsOccupied` → `icu_beds_occupied`.
public enum ReportColumns {
    public struct Column: Sendable {
        public let field: String
        public let column: String
        public let section: String
    }

    static let prefixes = ["medicalService": "ms", "feverClinic": "fc", "vaccination": "vx", "nucleicAcid": "na", "icu": "icu"]

    public static let all: [Column] = ReportSchema.countFields.map {
        Column(field: $0, column: column(for: $0), section: String($0.split(separator: ".")[0]))
    }

    public static func column(for field: String) -> String {
        let parts = field.split(separator: ".")
        let prefix = prefixes[String(parts[0])] ?? String(parts[0])
        var snake = ""
        for character in parts[1] {
            if character.isUppercase { snake += "_" + character.lowercased() } else { snake.append(character) }
        }
        return "\(prefix)_\(snake)"
    }

    public static let byField: [String: String] = Dictionary(uniqueKeysWithValues: all.map { ($0.field, $0.column) })
}
