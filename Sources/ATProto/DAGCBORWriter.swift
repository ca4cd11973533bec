/// Writes DAG-CBOR item by item, for values of a fixed shape (MST nodes)
/// that are encoded many times a second and need not be built as a
/// ``DataValue`` first. The caller is responsible for what ``DAGCBOR/encode(_:)``
/// guarantees on its own: map keys in canonical order (shorter first, then
/// bytewise) and as many items as each head announces. Heads are always
/// written in their shortest form.
public struct DAGCBORWriter {
    /// The bytes written so far.
    public private(set) var bytes: [UInt8]

    /// A writer whose buffer has room for `capacity` bytes up front.
    public init(capacity: Int) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// The size of a head carrying `argument`.
    @inline(__always)
    public static func headSize(_ argument: Int) -> Int { DAGCBOR.headSize(UInt64(argument)) }

    /// The size of a CID link (tag 42, the `0x00`-prefixed binary CID).
    public static let linkSize = 2 + 2 + 37

    /// The size of a text key of `count` ASCII bytes.
    @inline(__always)
    public static func keySize(_ count: Int) -> Int { headSize(count) + count }

    @inline(__always)
    mutating func head(_ major: UInt8, _ argument: UInt64) {
        let m = major << 5
        if argument < 24 {
            bytes.append(m | UInt8(truncatingIfNeeded: argument))
        } else if argument <= 0xff {
            bytes.append(m | 24)
            bytes.append(UInt8(truncatingIfNeeded: argument))
        } else if argument <= 0xffff {
            bytes.append(m | 25)
            bytes.append(UInt8(truncatingIfNeeded: argument >> 8))
            bytes.append(UInt8(truncatingIfNeeded: argument))
        } else {
            // Items this large are not written through this writer (MST keys
            // and node entries are short), but the encoding stays correct.
            let long = argument > 0xffff_ffff
            bytes.append(m | (long ? 27 : 26))
            for shift in stride(from: long ? 56 : 24, through: 0, by: -8) {
                bytes.append(UInt8(truncatingIfNeeded: argument >> UInt64(shift)))
            }
        }
    }

    /// A map head of `count` entries.
    public mutating func map(count: Int) { head(5, UInt64(count)) }

    /// An array head of `count` items.
    public mutating func array(count: Int) { head(4, UInt64(count)) }

    /// A text string of ASCII bytes (a map key), such as `"e"`.
    public mutating func key(_ ascii: StaticString) {
        head(3, UInt64(ascii.utf8CodeUnitCount))
        bytes.append(contentsOf: UnsafeBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }

    /// A non-negative integer.
    public mutating func unsigned(_ value: Int) {
        precondition(value >= 0, "unsigned takes a non-negative integer")
        head(0, UInt64(value))
    }

    /// A byte string.
    public mutating func byteString(_ value: ArraySlice<UInt8>) {
        head(2, UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// `null`.
    public mutating func null() { bytes.append(0xf6) }

    /// A CID link: tag 42 over `0x00` and the 36-byte binary CID.
    public mutating func link(_ cid: CID) {
        bytes.append(0xd8)
        bytes.append(0x2a)
        bytes.append(0x58)
        bytes.append(37)
        bytes.append(0x00)
        bytes.append(0x01)
        bytes.append(UInt8(truncatingIfNeeded: cid.codec.rawValue))
        bytes.append(UInt8(truncatingIfNeeded: CID.sha256Code))
        bytes.append(32)
        cid.withDigestBytes { bytes.append(contentsOf: $0) }
    }

    /// A link, or `null` when `cid` is nil.
    public mutating func link(orNull cid: CID?) {
        if let cid { link(cid) } else { null() }
    }
}
