/// Rules for the personal data the network holds: mainland mobile numbers and resident
/// identity card numbers (GB 11643-1999), and how they are shown.
public enum PersonalData {
    /// A mainland mobile number: 11 digits starting 13–19.
    public static func isValidPhone(_ phone: String) -> Bool {
        let bytes = Array(phone.utf8)
        guard bytes.count == 11, bytes.allSatisfy({ $0 >= 48 && $0 <= 57 }), bytes[0] == UInt8(ascii: "1") else { return false }
        return bytes[1] >= UInt8(ascii: "3")
    }

    /// An 18-character resident ID number whose last character is the ISO 7064 MOD 11-2
    /// check character of the first 17 digits (GB 11643-1999).
    public static func isValidIDNumber(_ id: String) -> Bool {
        let characters = Array(id.uppercased().utf8)
        guard characters.count == 18, characters.prefix(17).allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return characters[17] == idCheckCharacter(characters.prefix(17).map { Int($0 - 48) })
    }

    static let idWeights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    static let idCheckCharacters = Array("10X98765432".utf8)

    /// The check character for 17 digits.
    public static func idCheckCharacter(_ digits: [Int]) -> UInt8 {
        let sum = zip(digits, idWeights).reduce(0) { $0 + $1.0 * $1.1 }
        return idCheckCharacters[sum % 11]
    }

    /// `138****5678`.
    public static func maskPhone(_ phone: String) -> String {
        let characters = Array(phone)
        guard characters.count >= 7 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(3)) + String(repeating: "*", count: characters.count - 7) + String(characters.suffix(4))
    }

    /// `310***********1234`.
    public static func maskIDNumber(_ id: String) -> String {
        let characters = Array(id)
        guard characters.count >= 7 else { return String(repeating: "*", count: characters.count) }
        return String(characters.prefix(3)) + String(repeating: "*", count: characters.count - 7) + String(characters.suffix(4))
    }

    /// `张*` / `欧阳**`: the family name (first character) stays.
    public static func maskName(_ name: String) -> String {
        guard let first = name.first else { return "" }
        return String(first) + String(repeating: "*", count: max(1, name.count - 1))
    }
}

/// Staff passwords: at least 10 characters drawn from at least 3 of the 4 classes
/// (lower case, upper case, digits, symbols).
public enum PasswordPolicy {
    public static let minimumLength = 10
    public static let minimumClasses = 3

    /// Why a password is refused, or nil when it is acceptable.
    public static func problem(with password: String) -> String? {
        if password.count < minimumLength {
            return "must have at least \(minimumLength) characters"
        }
        var classes = 0
        if password.contains(where: { $0.isLowercase }) { classes += 1 }
        if password.contains(where: { $0.isUppercase }) { classes += 1 }
        if password.contains(where: { $0.isNumber }) { classes += 1 }
        if password.contains(where: { !$0.isLetter && !$0.isNumber }) { classes += 1 }
        if classes < minimumClasses {
            return "must mix at least \(minimumClasses) of: lower case, upper case, digits, symbols"
        }
        return nil
    }
}
