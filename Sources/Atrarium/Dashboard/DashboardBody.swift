import Foundation

/// A JSON request body of the dashboard API. Plain JSON (not the atproto
/// data model): `feedMix` may be given as fractions, which atproto data
/// cannot hold. Reading a field checks its type and answers 400 otherwise.
struct DashboardBody: Sendable {
    /// One JSON value.
    indirect enum Value: Sendable, Equatable, Decodable {
        case null
        case bool(Bool)
        case integer(Int)
        case number(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let i = try? c.decode(Int.self) {
                self = .integer(i)
            } else if let d = try? c.decode(Double.self) {
                self = .number(d)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let a = try? c.decode([Value].self) {
                self = .array(a)
            } else {
                self = .object(try c.decode([String: Value].self))
            }
        }

        /// The value as a number (integer or not).
        var number: Double? {
            switch self {
            case .integer(let i): return Double(i)
            case .number(let d): return d
            default: return nil
            }
        }
    }

    let fields: [String: Value]

    /// Parses `bytes`, which must be one JSON object; no bytes at all read
    /// as an empty object.
    init(bytes: [UInt8]) throws(DashboardError) {
        guard !bytes.isEmpty else {
            fields = [:]
            return
        }
        let value: Value
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(bytes))
        } catch {
            throw .badRequest("The body is not valid JSON")
        }
        guard case .object(let fields) = value else { throw .badRequest("The body must be a JSON object") }
        self.fields = fields
    }

    init(fields: [String: Value]) {
        self.fields = fields
    }

    func has(_ key: String) -> Bool { fields[key] != nil && fields[key] != .null }

    /// A string field; nil when absent or null.
    func string(_ key: String) throws(DashboardError) -> String? {
        switch fields[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        default: throw .badRequest("\(key) must be a string")
        }
    }

    func requiredString(_ key: String) throws(DashboardError) -> String {
        guard let value = try string(key) else { throw .badRequest("\(key) is required") }
        return value
    }

    /// An array of strings; nil when absent or null.
    func strings(_ key: String) throws(DashboardError) -> [String]? {
        switch fields[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            var out: [String] = []
            for item in items {
                guard case .string(let s) = item else { throw .badRequest("\(key) must be an array of strings") }
                out.append(s)
            }
            return out
        default: throw .badRequest("\(key) must be an array of strings")
        }
    }

    /// An object field; nil when absent or null.
    func object(_ key: String) throws(DashboardError) -> DashboardBody? {
        switch fields[key] {
        case nil, .null?: return nil
        case .object(let o)?: return DashboardBody(fields: o)
        default: throw .badRequest("\(key) must be an object")
        }
    }

    /// A number field; nil when absent or null.
    func number(_ key: String) throws(DashboardError) -> Double? {
        switch fields[key] {
        case nil, .null?: return nil
        case let value?:
            guard let n = value.number, n.isFinite else { throw .badRequest("\(key) must be a number") }
            return n
        }
    }
}
