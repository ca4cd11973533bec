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

/// A ``SyntaxCheckedString`` checked by one scan of its UTF-8 bytes
/// (`DID`, `Handle`, `NSID`, `RecordKey`, `ATIdentifier`, `URIString`,
/// `LanguageTag`): its parsing `init`, `isValid` and the check come from
/// ``problem(_:)``, written once here instead of in each type.
public protocol ScannedSyntax: SyntaxCheckedString {
    /// The kind of identifier its errors name.
    static var syntaxKind: SyntaxError.Kind { get }
    /// Why `bytes` is not valid syntax for the type, or nil when it is.
    static func problem(_ bytes: UnsafeBufferPointer<UInt8>) -> String?
    /// A value from a string known to be valid, not checked again (read
    /// back from storage that only ever held checked values, or cut from a
    /// larger identifier already checked).
    init(unchecked string: String)
}

extension ScannedSyntax {
    /// Parses and checks a string.
    public init(_ string: String) throws(SyntaxError) {
        try Self.check(string)
        self.init(unchecked: string)
    }

    /// Whether `string` is valid syntax for the type.
    public static func isValid(_ string: String) -> Bool {
        string.withUTF8Bytes(problem) == nil
    }

    /// Throws the ``SyntaxError`` that says why `string` is not valid
    /// syntax for the type; returns when it is.
    static func check(_ string: String) throws(SyntaxError) {
        if let reason = string.withUTF8Bytes(problem) {
            throw SyntaxError(kind: syntaxKind, value: string, reason: reason)
        }
    }
}
