/// Quoted-printable (RFC 2045 §6.7), the body encoding of the messages
/// sent here: text stays readable in the raw message, every line stays
/// under 76 characters, and nothing but printable ASCII is sent (so no
/// server needs `8BITMIME`).
enum QuotedPrintable {
    static let maxLineLength = 76

    /// Encodes `text`, whose line breaks (LF or CRLF) become CRLF.
    static func encode(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + text.utf8.count / 8)
        let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if index > 0 { out += "\r\n" }
            encodeLine(Array(line.utf8), into: &out)
        }
        return out
    }

    private static let hex = Array("0123456789ABCDEF")

    /// One hard line, with soft breaks (`=` at the end) where it is long.
    private static func encodeLine(_ bytes: [UInt8], into out: inout String) {
        var column = 0
        for (index, byte) in bytes.enumerated() {
            let isLast = index == bytes.count - 1
            let literal: Bool
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"): literal = !isLast  // trailing white space would be stripped in transit
            case UInt8(ascii: "="): literal = false
            case 33...126: literal = true
            default: literal = false
            }
            let width = literal ? 1 : 3
            // Room for this and a soft break's `=`, unless it ends the line.
            if column + width > maxLineLength - (isLast ? 0 : 1) {
                out += "=\r\n"
                column = 0
            }
            if literal {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out.append("=")
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
            column += width
        }
    }
}
