/// Reads a report from its JSON form (as decoded by `JSONSerialization`) and returns what
/// it could read together with every structural finding — never only the first.
public enum ReportParser {
    /// `catalog` maps each kind to the codes it accepts.
    public static func parse(_ json: JSONValue, catalog: [CatalogKind: Set<String>], ruleID: String = "well_formed") -> (DailyReport, [Finding]) {
        var report = DailyReport()
        var findings: [Finding] = []
        func error(_ field: String?, _ message: String) {
            findings.append(Finding(rule: ruleID, severity: .error, field: field, message: message))
        }
        guard case .object(let object) = json else {
            error(nil, "The report must be a JSON object with the sections \(ReportSchema.sectionNames.joined(separator: ", ")).")
            return (report, findings)
        }
        for key in object.keys.sorted() where !ReportSchema.sectionNames.contains(key) && key != "correctionReason" {
            error(key, "Unknown section \(key); the sections are \(ReportSchema.sectionNames.joined(separator: ", ")).")
        }
        for section in ReportSchema.countSections {
            guard let raw = object[section.name], raw != .null else { continue }
            guard case .object(let fields) = raw else {
                error(section.name, "\(section.name) must be an object of counts.")
                continue
            }
            report.presentSections.insert(section.name)
            for key in fields.keys.sorted() where !section.fields.contains(key) {
                error("\(section.name).\(key)", "Unknown field \(key) in \(section.name); its fields are \(section.fields.joined(separator: ", ")).")
            }
            for field in section.fields {
                let path = "\(section.name).\(field)"
                guard let value = fields[field] else {
                    error(path, "\(path) is required.")
                    continue
                }
                if let number = nonNegativeInteger(value) {
                    report.counts[path] = number
                } else {
                    error(path, "\(path) must be a non-negative integer, not \(value.kindDescription).")
                }
            }
        }
        for (name, kind) in ReportSchema.stockSections {
            guard let raw = object[name], raw != .null else { continue }
            guard case .array(let items) = raw else {
                error(name, "\(name) must be a list of {code, stock, consumed}.")
                continue
            }
            report.presentSections.insert(name)
            var lines: [StockLine] = []
            var codes = Set<String>()
            for (index, item) in items.enumerated() {
                let path = "\(name)[\(index)]"
                guard case .object(let fields) = item else {
                    error(path, "\(path) must be an object {code, stock, consumed}.")
                    continue
                }
                for key in fields.keys.sorted() where !ReportSchema.stockItemFields.contains(key) {
                    error("\(path).\(key)", "Unknown field \(key); stock lines have code, stock and consumed.")
                }
                var valid = true
                let code: String? = if case .string(let text) = fields["code"] { text } else { nil }
                if let code {
                    if !(catalog[kind]?.contains(code) ?? false) {
                        error("\(path).code", "\(code) is not in the \(kind.rawValue) catalog.")
                        valid = false
                    } else if !codes.insert(code).inserted {
                        error("\(path).code", "\(code) is listed twice.")
                        valid = false
                    }
                } else {
                    error("\(path).code", "\(path).code must be a catalog code string.")
                    valid = false
                }
                var numbers: [String: Int] = [:]
                for field in ["stock", "consumed"] {
                    guard let value = fields[field] else {
                        error("\(path).\(field)", "\(path).\(field) is required.")
                        valid = false
                        continue
                    }
                    guard let number = nonNegativeInteger(value) else {
                        error("\(path).\(field)", "\(path).\(field) must be a non-negative integer, not \(value.kindDescription).")
                        valid = false
                        continue
                    }
                    numbers[field] = number
                }
                if valid, let code, let stock = numbers["stock"], let consumed = numbers["consumed"] {
                    lines.append(StockLine(code: code, stock: stock, consumed: consumed))
                }
            }
            if kind == .drug { report.drugs = lines } else { report.materials = lines }
        }
        return (report, findings)
    }

    /// Integers only: `3` (and the integral `3.0`, which JSON does not distinguish) is a
    /// count; `3.5`, `-1`, `"3"` and `true` are not.
    static func nonNegativeInteger(_ value: JSONValue) -> Int? {
        if case .integer(let integer) = value, integer >= 0 { return Int(integer) }
        return nil
    }
}
