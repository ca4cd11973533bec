/// A decentralized identifier in atproto's generic DID syntax:
/// `did:<method>:<identifier>`.
///
/// - the method is one or more lower-case letters `a–z`;
/// - the method-specific identifier is one or more of the ASCII letters,
///   digits and `. _ : % -`, and does not end in `:` or `%`;
/// - the whole DID is at most 2048 characters.
///
/// DIDs are case-sensitive. Percent signs are accepted anywhere but at the
/// end, as the reference implementations do; the `%XX` escapes are not
/// decoded. `isPLC` and `isWeb` tell the two methods atproto supports.
public struct DID: ScannedSyntax {
    public static let syntaxKind = SyntaxError.Kind.did

    /// The maximum length of a DID, in characters.
    public static let maxLength = 2048

    /// The DID as a string, exactly as given.
    public let string: String

    /// A value from a string known to be valid (checked by ``problem(_:)``
    /// before, as when read back from this server's own storage).
    public init(unchecked string: String) {
        self.string = string
    }

    /// The method, e.g. `plc` in `did:plc:ewvi7nxzyoun6zhxrhs64oiz`.
    public var method: String {
        let rest = string.utf8.dropFirst(4)
        return String(Substring(rest.prefix { $0 != ASCII.colon }))
    }

    /// The method-specific identifier: everything after the second colon.
    public var identifier: String {
        let rest = string.utf8.dropFirst(4)
        let colon = rest.firstIndex(of: ASCII.colon)!
        return String(Substring(rest[rest.index(after: colon)...]))
    }

    /// Whether this is a well-formed `did:plc`: the method `plc` and an
    /// identifier of exactly 24 characters of lower-case base32 (`a–z`, `2–7`).
    public var isPLC: Bool {
        string.withUTF8Bytes { b in
            guard b.count == 32, ASCII.hasPrefix(b, "did:plc:") else { return false }
            for c in b[8...] where !(ASCII.isLower(c) || (c >= 0x32 && c <= 0x37)) { return false }
            return true
        }
    }

    /// Whether this is a `did:web` that atproto can use: the method `web`
    /// and an identifier that is a host name, optionally followed by a port
    /// written `%3A<digits>`. Path-based `did:web` (with `:` in the
    /// identifier) is not supported by atproto and is not counted.
    public var isWeb: Bool { webHost != nil }

    /// For a `did:web` that atproto can use, the host it names, with the port
    /// decoded: `did:web:localhost%3A1234` gives `localhost:1234`.
    public var webHost: String? {
        string.withUTF8Bytes { b -> String? in
            guard ASCII.hasPrefix(b, "did:web:") else { return nil }
            let id = b.slice(8..<b.count)
            var hostEnd = id.count
            var port: UnsafeBufferPointer<UInt8>?
            let pct = id.index(of: ASCII.percent)
            if pct < id.count {
                guard ASCII.equalsIgnoringCase(id.slice(pct..<min(pct + 3, id.count)), "%3a") else {
                    return nil
                }
                let digits = id.slice(min(pct + 3, id.count)..<id.count)
                guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy(ASCII.isDigit) else {
                    return nil
                }
                hostEnd = pct
                port = digits
            }
            let host = id.slice(0..<hostEnd)
            guard !host.isEmpty, host.first != ASCII.dot, host.last != ASCII.dot else { return nil }
            var labelLength = 0
            for c in host {
                if c == ASCII.dot {
                    if labelLength == 0 { return nil }
                    labelLength = 0
                } else if ASCII.isAlnum(c) || c == ASCII.hyphen {
                    labelLength += 1
                    if labelLength > 63 { return nil }
                } else {
                    return nil
                }
            }
            var result = String(decoding: host, as: UTF8.self)
            if let port {
                result += ":" + String(decoding: port, as: UTF8.self)
            }
            return result
        }
    }

    /// Why `b` is not a DID, or `nil` if it is one.
    public static func problem(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        if b.isEmpty { return "a DID can't be empty" }
        if b.count > maxLength { return "a DID is at most \(maxLength) characters long" }
        guard ASCII.hasPrefix(b, "did:") else {
            return "a DID must start with 'did:' (in lower case)"
        }
        var i = 4
        while i < b.count && ASCII.isLower(b[i]) { i += 1 }
        if i == b.count {
            return i == 4
                ? "a DID needs a method and an identifier, as in 'did:method:identifier'"
                : "a DID needs an identifier after the method, as in 'did:method:identifier'"
        }
        if b[i] != ASCII.colon {
            return "the DID method may only contain lower-case letters a-z"
        }
        if i == 4 { return "the DID method can't be empty" }
        i += 1
        if i == b.count { return "the method-specific identifier can't be empty" }
        while i < b.count {
            let c = b[i]
            guard ASCII.isAlnum(c) || c == ASCII.dot || c == ASCII.underscore || c == ASCII.colon
                || c == ASCII.percent || c == ASCII.hyphen
            else {
                return "the method-specific identifier may only contain ASCII letters, digits and . _ : % -"
            }
            i += 1
        }
        let last = b[b.count - 1]
        if last == ASCII.colon || last == ASCII.percent {
            return "a DID can't end with ':' or '%'"
        }
        return nil
    }
}
