/// What a person does in the network. Authorization is declared per route as a set of roles
/// plus a scope rule; nothing is allowed by default.
public enum Role: String, Sendable, Hashable, Codable, CaseIterable, Comparable {
    case patient
    case doctor
    case pharmacist
    case reporter
    case leader
    case volunteer
    case kiosk
    case admin

    /// Staff sign in with a password and TOTP; patients with a phone code.
    public var isStaff: Bool { self != .patient }

    public static func < (a: Role, b: Role) -> Bool { a.rawValue < b.rawValue }
}

/// Where a role applies. Written `city`, `district:310115`, `institution:12`, `campus:34`,
/// `site:56` (a kiosk's fever clinic) or `patient:78` (a patient is their own scope).
public enum Scope: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    case city
    case district(String)
    case institution(Int)
    case campus(Int)
    case site(Int)
    case patient(Int)

    public init?(_ text: String) {
        if text == "city" {
            self = .city
            return
        }
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        guard parts.count == 2, !parts[1].isEmpty else { return nil }
        let number = Int(parts[1]).flatMap { $0 >= 1 && String($0) == parts[1] ? $0 : nil }
        switch parts[0] {
        case "district" where District.isWellFormedCode(parts[1]): self = .district(parts[1])
        case "institution":
            guard let number else { return nil }
            self = .institution(number)
        case "campus":
            guard let number else { return nil }
            self = .campus(number)
        case "site":
            guard let number else { return nil }
            self = .site(number)
        case "patient":
            guard let number else { return nil }
            self = .patient(number)
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .city: "city"
        case .district(let code): "district:\(code)"
        case .institution(let id): "institution:\(id)"
        case .campus(let id): "campus:\(id)"
        case .site(let id): "site:\(id)"
        case .patient(let id): "patient:\(id)"
        }
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let scope = Scope(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a scope: \(text)"))
        }
        self = scope
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public static func < (a: Scope, b: Scope) -> Bool { a.description < b.description }
}

/// Where a resource sits in the organisation hierarchy: everything above it, so that a scope
/// check is a comparison, not a query. Built by storage, judged by ``Scope/covers(_:)``.
public struct ScopePath: Sendable, Hashable {
    public var districtCode: String?
    public var institutionId: Int?
    public var campusId: Int?
    public var siteId: Int?
    public var patientId: Int?

    public init(districtCode: String? = nil, institutionId: Int? = nil, campusId: Int? = nil, siteId: Int? = nil, patientId: Int? = nil) {
        self.districtCode = districtCode
        self.institutionId = institutionId
        self.campusId = campusId
        self.siteId = siteId
        self.patientId = patientId
    }

    /// The whole city (a city-level resource such as the city cockpit).
    public static let city = ScopePath()
}

extension Scope {
    /// Whether someone holding this scope may act on a resource at `path`.
    ///
    /// City covers everything organisational; a district covers its institutions, campuses
    /// and sites; an institution its campuses and sites; a campus its sites. A patient scope
    /// covers only that patient's own resources. A resource that sits above a scope (the
    /// city cockpit for a district leader) is not covered.
    public func covers(_ path: ScopePath) -> Bool {
        switch self {
        case .city:
            return path.patientId == nil
        case .district(let code):
            return path.patientId == nil && path.districtCode == code
        case .institution(let id):
            return path.patientId == nil && path.institutionId == id
        case .campus(let id):
            return path.patientId == nil && path.campusId == id
        case .site(let id):
            return path.patientId == nil && path.siteId == id
        case .patient(let id):
            return path.patientId == id
        }
    }
}

extension Scope {
    /// A patient's own scope, as opposed to an organisational one.
    public var isPatient: Bool {
        if case .patient = self { return true }
        return false
    }
}

/// One role held in one scope.
public struct RoleAssignment: Sendable, Hashable, Codable {
    public var role: Role
    public var scope: Scope

    public init(role: Role, scope: Scope) {
        self.role = role
        self.scope = scope
    }
}
