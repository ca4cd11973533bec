/// Writes DAG-CBOR item by item, for values of a fixed shape (MST nodes)
/// that are encoded many times a second and need not be built as a
/// ``DataValue`` first. Like ``DAGCBOR/encode(_:)``, it writes into one
/// buffer of a size computed beforehand, through the same head and link
/// writers. The caller is responsible for what `encode(_:)` guarantees on
/// its own: map keys in canonical order (shorter first, then bytewise) and
/// as many items as each head announces.
public struct DAGCBORWriter {
    private var cursor: UnsafeMutablePointer<UInt8>
    private let end: UnsafeMutablePointer<UInt8>

    /// Runs `body` on a writer over exactly `size` bytes and returns them.
    /// Writing more than `size` bytes, or fewer, traps.
    public static func encode(size: Int, _ body: (inout DAGCBORWriter) -> Void) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let start = buffer.baseAddress!
            var writer = DAGCBORWriter(cursor: start, end: start + size)
            body(&writer)
            precondition(writer.cursor == writer.end, "DAG-CBOR size and written bytes disagree")
            count = size
        }
    }

    private init(cursor: UnsafeMutablePointer<UInt8>, end: UnsafeMutablePointer<UInt8>) {
        self.cursor = cursor
        self.end = end
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
    private func room(_ count: Int) {
        precondition(end - cursor >= count, "DAG-CBOR writer overflow: more bytes than the size given")
    }

    @inline(__always)
    private mutating func head(_ major: UInt8, _ argument: UInt64) {
        room(DAGCBOR.headSize(argument))
        DAGCBOR.writeHead(major, argument, to: &cursor)
    }

    /// A map head of `count` entries.
    public mutating func map(count: Int) { head(5, UInt64(count)) }

    /// An array head of `count` items.
    public mutating func array(count: Int) { head(4, UInt64(count)) }

    /// A text string of ASCII bytes (a map key), such as `"e"`.
    public mutating func key(_ ascii: StaticString) {
        head(3, UInt64(ascii.utf8CodeUnitCount))
        copy(UnsafeBufferPointer(start: ascii.utf8Start, count: ascii.utf8CodeUnitCount))
    }

    /// A non-negative integer.
    public mutating func unsigned(_ value: Int) {
        precondition(value >= 0, "unsigned takes a non-negative integer")
        head(0, UInt64(value))
    }

    /// A byte string.
    public mutating func byteString(_ value: ArraySlice<UInt8>) {
        head(2, UInt64(value.count))
        value.withUnsafeBufferPointer { copy($0) }
    }

    /// `null`.
    public mutating func null() {
        room(1)
        cursor[0] = 0xf6
        cursor += 1
    }

    /// A CID link: tag 42 over `0x00` and the 36-byte binary CID.
    public mutating func link(_ cid: CID) {
        room(Self.linkSize)
        DAGCBOR.writeLink(cid, to: &cursor)
    }

    /// A link, or `null` when `cid` is nil.
    public mutating func link(orNull cid: CID?) {
        if let cid { link(cid) } else { null() }
    }

    private mutating func copy(_ source: UnsafeBufferPointer<UInt8>) {
        room(source.count)
        if let base = source.baseAddress, source.count > 0 {
            cursor.update(from: base, count: source.count)
            cursor += source.count
        }
    }
}
