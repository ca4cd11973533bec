/// An identifier that is a string checked against its syntax (`DID`,
/// `Handle`, `NSID`, `RecordKey`, `ATURI`, `TID`, …). It prints as its string
/// and is `Codable` as a plain string, checked again when decoded.
public protocol SyntaxCheckedString: Hashable, Sendable, CustomStringConvertible, Codable {
    /// The identifier as a string.
    var string: String { get }
    /// Parses and checks a string.
    init(_ string: String) throws(SyntaxError)
}

extension SyntaxCheckedString {
    public var description: String { string }

    public init(from decoder: any Decoder) throws {
        let string = try SyntaxCoding.decodeString(from: decoder)
        do { try self.init(string) } catch { throw SyntaxCoding.dataCorrupted(decoder, error) }
    }

    public func encode(to encoder: any Encoder) throws {
        try SyntaxCoding.encode(string, to: encoder)
    }
}
