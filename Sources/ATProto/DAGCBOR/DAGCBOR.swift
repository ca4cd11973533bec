/// DAG-CBOR in the atproto profile (DRISL): the binary form of data-model
/// values that records, commits and MST nodes are hashed and signed in.
///
/// The profile allows only: unsigned and negative integers that fit in a
/// signed 64-bit integer, byte strings, UTF-8 text strings, arrays, maps with
/// text keys, `false`, `true`, `null`, and tag 42 (a CID link). Every head uses
/// the shortest encoding, lengths are always definite, map keys come in
/// canonical order (shorter first, then bytewise) and there are no floats.
/// So each value has exactly one encoding, and ``encode(_:)`` produces it.
///
/// ``decode(_:)`` accepts only that one encoding (see ``DAGCBORError`` for
/// what it rejects), so decoding and re-encoding always gives the same bytes.
public enum DAGCBOR {
    /// The deepest nesting of arrays and maps the decoder accepts; a top-level
    /// array or map is at depth 1. Deeper input throws
    /// ``DAGCBORError/nestingTooDeep(offset:limit:)``.
    public static let maxNestingDepth = 128

    /// The CBOR tag of a CID link.
    static let cidTag: UInt64 = 42

    /// Encodes `value` in canonical DAG-CBOR.
    ///
    /// Map keys are written in ``DataMap`` order, which is already canonical,
    /// so nothing is sorted here. The result is sized exactly in a first pass
    /// and then written straight into one buffer.
    public static func encode(_ value: DataValue) -> [UInt8] {
        let size = encodedSize(value)
        return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let start = buffer.baseAddress!
            var cursor = start
            write(value, to: &cursor)
            precondition(cursor - start == size, "DAG-CBOR size pass and write pass disagree")
            count = size
        }
    }

    /// The encoded size of `value`'s CID link payload: `0x00` and the binary CID.
    @inline(__always)
    static func linkPayloadSize(_ cid: CID) -> Int {
        1 + 1 + varintSize(cid.codec.rawValue) + 2 + 32
    }

    @inline(__always)
    static func varintSize(_ value: UInt64) -> Int {
        var v = value, n = 1
        while v >= 0x80 {
            v >>= 7
            n += 1
        }
        return n
    }

    /// Size of a head (initial byte plus argument) carrying `argument`.
    @inline(__always)
    static func headSize(_ argument: UInt64) -> Int {
        if argument < 24 { return 1 }
        if argument <= 0xff { return 2 }
        if argument <= 0xffff { return 3 }
        if argument <= 0xffff_ffff { return 5 }
        return 9
    }

    /// The exact number of bytes ``encode(_:)`` writes for `value`.
    static func encodedSize(_ value: DataValue) -> Int {
        switch value {
        case .null, .bool:
            return 1
        case .int(let i):
            return headSize(i >= 0 ? UInt64(i) : UInt64(~i))
        case .string(let s):
            let n = s.utf8.count
            return headSize(UInt64(n)) + n
        case .bytes(let b):
            return headSize(UInt64(b.count)) + b.count
        case .link(let cid):
            let n = linkPayloadSize(cid)
            return 2 + headSize(UInt64(n)) + n
        case .array(let elements):
            var total = headSize(UInt64(elements.count))
            for element in elements { total += encodedSize(element) }
            return total
        case .map(let map):
            let entries = map.entries
            var total = headSize(UInt64(entries.count))
            for entry in entries {
                let n = entry.key.utf8.count
                total += headSize(UInt64(n)) + n + encodedSize(entry.value)
            }
            return total
        }
    }

    /// Writes a head of major type `major` with `argument`, shortest form.
    @inline(__always)
    static func writeHead(_ major: UInt8, _ argument: UInt64, to p: inout UnsafeMutablePointer<UInt8>) {
        let m = major << 5
        if argument < 24 {
            p[0] = m | UInt8(truncatingIfNeeded: argument)
            p += 1
        } else if argument <= 0xff {
            p[0] = m | 24
            p[1] = UInt8(truncatingIfNeeded: argument)
            p += 2
        } else if argument <= 0xffff {
            p[0] = m | 25
            p[1] = UInt8(truncatingIfNeeded: argument >> 8)
            p[2] = UInt8(truncatingIfNeeded: argument)
            p += 3
        } else if argument <= 0xffff_ffff {
            p[0] = m | 26
            UnsafeMutableRawPointer(p + 1).storeBytes(of: UInt32(truncatingIfNeeded: argument).bigEndian, as: UInt32.self)
            p += 5
        } else {
            p[0] = m | 27
            UnsafeMutableRawPointer(p + 1).storeBytes(of: argument.bigEndian, as: UInt64.self)
            p += 9
        }
    }

    /// Writes a text string (major type 3).
    @inline(__always)
    static func writeText(_ string: String, to p: inout UnsafeMutablePointer<UInt8>) {
        var s = string
        s.withUTF8 { utf8 in
            writeHead(3, UInt64(utf8.count), to: &p)
            if let source = utf8.baseAddress, utf8.count > 0 {
                p.update(from: source, count: utf8.count)
                p += utf8.count
            }
        }
    }

    /// Writes raw bytes with no head.
    @inline(__always)
    static func writeRaw(_ bytes: [UInt8], to p: inout UnsafeMutablePointer<UInt8>) {
        bytes.withUnsafeBufferPointer { buffer in
            if let source = buffer.baseAddress, buffer.count > 0 {
                p.update(from: source, count: buffer.count)
                p += buffer.count
            }
        }
    }

    /// Writes `value`; the buffer must have room for ``encodedSize(_:)`` bytes.
    static func write(_ value: DataValue, to p: inout UnsafeMutablePointer<UInt8>) {
        switch value {
        case .null:
            p[0] = 0xf6
            p += 1
        case .bool(let b):
            p[0] = b ? 0xf5 : 0xf4
            p += 1
        case .int(let i):
            if i >= 0 {
                writeHead(0, UInt64(i), to: &p)
            } else {
                writeHead(1, UInt64(~i), to: &p)
            }
        case .string(let s):
            writeText(s, to: &p)
        case .bytes(let b):
            writeHead(2, UInt64(b.count), to: &p)
            writeRaw(b, to: &p)
        case .link(let cid):
            writeLink(cid, to: &p)
        case .array(let elements):
            writeHead(4, UInt64(elements.count), to: &p)
            for element in elements { write(element, to: &p) }
        case .map(let map):
            let entries = map.entries
            writeHead(5, UInt64(entries.count), to: &p)
            for entry in entries {
                writeText(entry.key, to: &p)
                write(entry.value, to: &p)
            }
        }
    }

    /// Writes a CID link: tag 42 over a byte string of `0x00` and the binary CID.
    static func writeLink(_ cid: CID, to p: inout UnsafeMutablePointer<UInt8>) {
        p[0] = 0xd8
        p[1] = 0x2a
        p += 2
        writeHead(2, UInt64(linkPayloadSize(cid)), to: &p)
        p[0] = 0x00
        p[1] = 0x01
        p += 2
        var codec = cid.codec.rawValue
        while codec >= 0x80 {
            p[0] = UInt8(truncatingIfNeeded: codec) | 0x80
            p += 1
            codec >>= 7
        }
        p[0] = UInt8(truncatingIfNeeded: codec)
        p[1] = UInt8(truncatingIfNeeded: CID.sha256Code)
        p[2] = 32
        p += 3
        cid.withDigestBytes { digest in
            UnsafeMutableRawPointer(p).copyMemory(from: digest.baseAddress!, byteCount: 32)
        }
        p += 32
    }
}
