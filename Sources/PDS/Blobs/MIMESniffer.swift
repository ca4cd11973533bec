import Foundation

/// Detects a blob's MIME type from its first bytes (its "magic"), the way
/// the reference PDS does before trusting what the client declared: images
/// (JPEG, PNG, GIF, WebP, HEIC/HEIF, AVIF, BMP, TIFF), video (MP4, QuickTime,
/// 3GP, WebM/Matroska, AVI), audio (MP3, Ogg, FLAC, WAV, M4A) and PDF.
public enum MIMESniffer {
    /// The type detected from `head` (the first bytes of the content), or nil.
    public static func detect(_ head: [UInt8]) -> String? {
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            head.count >= offset + magic.count && Array(head[offset..<offset + magic.count]) == magic
        }
        func ascii(_ text: String, at offset: Int = 0) -> Bool { starts(Array(text.utf8), at: offset) }

        if starts([0xFF, 0xD8, 0xFF]) { return "image/jpeg" }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return "image/png" }
        if ascii("GIF87a") || ascii("GIF89a") { return "image/gif" }
        if ascii("RIFF") {
            if ascii("WEBP", at: 8) { return "image/webp" }
            if ascii("WAVE", at: 8) { return "audio/wav" }
            if ascii("AVI ", at: 8) { return "video/x-msvideo" }
        }
        if ascii("ftyp", at: 4), let brand = isoBrand(head) { return brand }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) {
            // EBML: the DocType names WebM or Matroska.
            return contains(head, Array("webm".utf8)) ? "video/webm" : "video/x-matroska"
        }
        if ascii("OggS") { return "audio/ogg" }
        if ascii("fLaC") { return "audio/flac" }
        if ascii("ID3") { return "audio/mpeg" }
        // An MPEG audio frame: 11 sync bits, MPEG version not reserved, layer III.
        if head.count >= 2, head[0] == 0xFF, head[1] & 0xE0 == 0xE0, head[1] & 0x18 != 0x08, head[1] & 0x06 == 0x02 {
            return "audio/mpeg"
        }
        if ascii("%PDF-") { return "application/pdf" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "image/tiff" }
        if ascii("BM"), head.count >= 26, head[6...9].allSatisfy({ $0 == 0 }) { return "image/bmp" }
        return nil
    }

    /// The type an ISO base media file (`....ftyp<brand>`) declares.
    private static func isoBrand(_ head: [UInt8]) -> String? {
        guard head.count >= 12 else { return nil }
        let brand = String(decoding: head[8..<12], as: UTF8.self)
        switch brand {
        case "avif", "avis": return "image/avif"
        case "heic", "heix", "hevc", "hevx", "heim", "heis", "hevm", "hevs": return "image/heic"
        case "mif1", "msf1": return "image/heif"
        case "qt  ": return "video/quicktime"
        case "M4A ", "M4B ": return "audio/mp4"
        case "3gp4", "3gp5", "3gp6", "3gg6": return "video/3gpp"
        case "3g2a", "3g2b", "3g2c": return "video/3gpp2"
        default: return "video/mp4"  // isom, iso2…iso6, mp41, mp42, avc1, dash, M4V, MSNV, …
        }
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i..<i + needle.count].elementsEqual(needle) {
            return true
        }
        return false
    }

    /// The MIME type of an upload: the detected one, else the declared
    /// `Content-Type` (without parameters, when it is a well-formed
    /// `type/subtype`), else `application/octet-stream`.
    public static func mimeType(head: [UInt8], declared: String?) -> String {
        if let detected = detect(head) { return detected }
        if let declared, let clean = clean(declared) { return clean }
        return "application/octet-stream"
    }

    /// `type/subtype` of a `Content-Type` value, lower-cased, or nil when it
    /// is malformed or a wildcard.
    static func clean(_ value: String) -> String? {
        let essence = value.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let type = essence.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = type.split(separator: "/", omittingEmptySubsequences: false)
        let token = Set("abcdefghijklmnopqrstuvwxyz0123456789!#$&^_.+-")
        guard parts.count == 2, type.count <= 255,
            parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(token.contains) })
        else { return nil }
        return type
    }
}
