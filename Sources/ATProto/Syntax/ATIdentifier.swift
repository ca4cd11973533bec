/// An AT identifier (the Lexicon `at-identifier` format): either a handle or
/// a DID, as accepted by most APIs that name an account.
///
/// A string starting with `did:` is parsed as a DID, anything else as a
/// handle.
public enum ATIdentifier: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.atIdentifier

    case did(DID)
    case handle(Handle)

    /// A value from a string known to be a valid handle or DID.
    public init(unchecked string: String) {
        self = string.utf8.starts(with: "did:".utf8) ? .did(DID(unchecked: string)) : .handle(Handle(unchecked: string))
    }

    /// Parses an AT identifier.
    public init(_ string: String) throws(SyntaxError) {
        let isDID = string.utf8.starts(with: "did:".utf8)
        let reason = string.withUTF8Bytes { b in isDID ? DID.problem(b) : Handle.problem(b) }
        if let reason {
            throw SyntaxError(
                kind: .atIdentifier, value: string,
                reason: isDID ? "not a valid DID (\(reason))" : "not a DID, and not a valid handle (\(reason))"
            )
        }
        self = isDID ? .did(DID(unchecked: string)) : .handle(Handle(unchecked: string))
    }

    /// The identifier as a string, exactly as given.
    public var string: String {
        switch self {
        case .did(let did): return did.string
        case .handle(let handle): return handle.string
        }
    }

    /// The DID, if this is one.
    public var did: DID? {
        if case .did(let did) = self { return did }
        return nil
    }

    /// The handle, if this is one.
    public var handle: Handle? {
        if case .handle(let handle) = self { return handle }
        return nil
    }

    /// Why `b` is neither a DID nor a handle, or `nil` if it is one of them.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        ASCII.hasPrefix(b, "did:") ? DID.problem(b) : Handle.problem(b)
    }
}
