#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension DAGCBOR {
    /// Decodes exactly one canonical DAG-CBOR value; the whole input must be
    /// that one value.
    ///
    /// The decoder is strict: anything but the single canonical encoding of a
    /// data-model value is refused (see ``DAGCBORError``). No input makes it
    /// crash or overflow the stack, and every declared length or count is
    /// checked against the bytes left before anything is allocated for it.
    public static func decode<C: Collection<UInt8>>(_ bytes: C) throws(DAGCBORError) -> DataValue {
        let (value, length) = try decodePrefix(bytes)
        guard length == bytes.count else { throw .trailingBytes(offset: length) }
        return value
    }

    /// Decodes one canonical DAG-CBOR value at the start of `bytes`, which may
    /// be followed by more data (a firehose frame is a header object followed
    /// by a body object).
    /// - Returns: the value and the number of bytes it took.
    public static func decodePrefix<C: Collection<UInt8>>(
        _ bytes: C
    ) throws(DAGCBORError) -> (value: DataValue, length: Int) {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(DAGCBORError) in try decodePrefix(buffer: UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { buffer in
            Result { () throws(DAGCBORError) in try decodePrefix(buffer: buffer) }
        }.get()
    }

    /// Decodes one value at the start of a raw buffer.
    static func decodePrefix(buffer: UnsafeRawBufferPointer) throws(DAGCBORError) -> (value: DataValue, length: Int) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { throw .truncated(offset: 0) }
        var reader = DAGCBORReader(base: base.assumingMemoryBound(to: UInt8.self), end: buffer.count)
        let value = try reader.readValue(depth: 0)
        return (value, reader.position)
    }
}

/// The decoding cursor: a base pointer, an end offset and a position, so
/// nothing is sliced or copied except the final strings, bytes and digests.
struct DAGCBORReader {
    let base: UnsafePointer<UInt8>
    let end: Int
    var position: Int = 0

    init(base: UnsafePointer<UInt8>, end: Int) {
        self.base = base
        self.end = end
    }

    /// The most elements reserved up front for one array or map. A declared
    /// count is only checked against the bytes left, and nested containers
    /// could each claim that much, so larger ones grow as they are filled.
    static let maxReservation = 1024

    @inline(__always)
    var remaining: Int { end - position }

    /// Reads the argument of the head whose initial byte (at `start`) was
    /// already consumed, checking that it is minimal and definite.
    @inline(__always)
    mutating func readArgument(_ info: UInt8, start: Int) throws(DAGCBORError) -> UInt64 {
        switch info {
        case 0..<24:
            return UInt64(info)
        case 24:
            guard remaining >= 1 else { throw .truncated(offset: start) }
            let v = UInt64(base[position])
            position += 1
            guard v >= 24 else { throw .nonMinimalEncoding(offset: start) }
            return v
        case 25:
            guard remaining >= 2 else { throw .truncated(offset: start) }
            let v = UInt64(base[position]) << 8 | UInt64(base[position + 1])
            position += 2
            guard v > 0xff else { throw .nonMinimalEncoding(offset: start) }
            return v
        case 26:
            guard remaining >= 4 else { throw .truncated(offset: start) }
            let raw = UnsafeRawPointer(base + position).loadUnaligned(as: UInt32.self)
            position += 4
            let v = UInt64(UInt32(bigEndian: raw))
            guard v > 0xffff else { throw .nonMinimalEncoding(offset: start) }
            return v
        case 27:
            guard remaining >= 8 else { throw .truncated(offset: start) }
            let raw = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
            position += 8
            let v = UInt64(bigEndian: raw)
            guard v > 0xffff_ffff else { throw .nonMinimalEncoding(offset: start) }
            return v
        case 31:
            throw .indefiniteLength(offset: start)
        default:
            throw .reservedAdditionalInfo(offset: start)
        }
    }

    /// Reads a head's argument as a length and checks it against the bytes
    /// left after the head. One mutating step on purpose: written as
    /// `checkLength(try readArgument(…))`, Swift copies `self` for the outer
    /// call before the argument moves `position`, so the check saw the bytes
    /// left before the head and let a length run up to 8 bytes past the
    /// input (found by the DAG-CBOR fuzz target; see the regression test).
    @inline(__always)
    mutating func readLength(_ info: UInt8, start: Int) throws(DAGCBORError) -> Int {
        let length = try readArgument(info, start: start)
        return try checkLength(length, start: start)
    }

    /// Checks a declared length of bytes against what is left.
    @inline(__always)
    func checkLength(_ length: UInt64, start: Int) throws(DAGCBORError) -> Int {
        guard length <= UInt64(remaining) else {
            throw .lengthExceedsInput(offset: start, declared: length, available: remaining)
        }
        return Int(length)
    }

    /// Makes a String from `count` bytes at the cursor, validating UTF-8.
    @inline(__always)
    mutating func readText(count: Int, start: Int) throws(DAGCBORError) -> String {
        guard let string = UTF8Validation.string(base + position, count: count) else {
            throw .invalidUTF8(offset: start)
        }
        position += count
        return string
    }

    mutating func readValue(depth: Int) throws(DAGCBORError) -> DataValue {
        guard position < end else { throw .truncated(offset: position) }
        let start = position
        let initial = base[position]
        position += 1
        let major = initial >> 5
        if major == 7 {
            switch initial {
            case 0xf4: return .bool(false)
            case 0xf5: return .bool(true)
            case 0xf6: return .null
            case 0xf9, 0xfa, 0xfb: throw .floatNotAllowed(offset: start)
            case 0xfc, 0xfd, 0xfe: throw .reservedAdditionalInfo(offset: start)
            case 0xff: throw .indefiniteLength(offset: start)
            default: throw .unsupportedSimpleValue(offset: start)
            }
        }
        let argument = try readArgument(initial & 0x1f, start: start)
        switch major {
        case 0:
            guard argument <= UInt64(Int64.max) else { throw .integerOutOfRange(offset: start) }
            return .int(Int64(argument))
        case 1:
            guard argument <= UInt64(Int64.max) else { throw .integerOutOfRange(offset: start) }
            return .int(-1 - Int64(argument))
        case 2:
            let count = try checkLength(argument, start: start)
            let bytes = Array(UnsafeBufferPointer(start: base + position, count: count))
            position += count
            return .bytes(bytes)
        case 3:
            let count = try checkLength(argument, start: start)
            return .string(try readText(count: count, start: start))
        case 4:
            guard depth < DAGCBOR.maxNestingDepth else {
                throw .nestingTooDeep(offset: start, limit: DAGCBOR.maxNestingDepth)
            }
            // Every element takes at least one byte.
            let count = try checkLength(argument, start: start)
            var elements: [DataValue] = []
            elements.reserveCapacity(Swift.min(count, DAGCBORReader.maxReservation))
            for _ in 0..<count {
                elements.append(try readValue(depth: depth + 1))
            }
            return .array(elements)
        case 5:
            guard depth < DAGCBOR.maxNestingDepth else {
                throw .nestingTooDeep(offset: start, limit: DAGCBOR.maxNestingDepth)
            }
            // Every entry takes at least two bytes (a key head and a value).
            guard argument <= UInt64(remaining / 2) else {
                throw .lengthExceedsInput(offset: start, declared: argument, available: remaining)
            }
            return .map(try readMapEntries(count: Int(argument), depth: depth))
        default:  // 6: tag
            guard argument == DAGCBOR.cidTag else { throw .unsupportedTag(offset: start, tag: argument) }
            return .link(try readLinkPayload(tagStart: start))
        }
    }

    /// Reads `count` map entries, checking key type, order and uniqueness.
    mutating func readMapEntries(count: Int, depth: Int) throws(DAGCBORError) -> DataMap {
        var entries: [(key: String, value: DataValue)] = []
        entries.reserveCapacity(Swift.min(count, DAGCBORReader.maxReservation))
        var previousKeyStart = 0
        var previousKeyCount = -1
        for _ in 0..<count {
            guard position < end else { throw .truncated(offset: position) }
            let keyStart = position
            let initial = base[position]
            position += 1
            guard initial >> 5 == 3 else { throw .mapKeyNotString(offset: keyStart) }
            let keyCount = try readLength(initial & 0x1f, start: keyStart)
            if previousKeyCount >= 0 {
                // Canonical order: shorter first, then bytewise; equal is a duplicate.
                var order = keyCount - previousKeyCount
                if order == 0 {
                    order = Int(memcmp(base + position, base + previousKeyStart, keyCount))
                }
                if order <= 0 {
                    let key = String(decoding: UnsafeBufferPointer(start: base + position, count: keyCount), as: UTF8.self)
                    if order == 0 { throw .duplicateMapKey(offset: keyStart, key: key) }
                    throw .mapKeysOutOfOrder(offset: keyStart, key: key)
                }
            }
            previousKeyStart = position
            previousKeyCount = keyCount
            let key = try readText(count: keyCount, start: keyStart)
            let value = try readValue(depth: depth + 1)
            entries.append((key: key, value: value))
        }
        return DataMap(canonicallyOrdered: entries)
    }

    /// Reads the byte string after tag 42: `0x00` then exactly one CID.
    mutating func readLinkPayload(tagStart: Int) throws(DAGCBORError) -> CID {
        guard position < end else { throw .truncated(offset: position) }
        let start = position
        let initial = base[position]
        position += 1
        guard initial >> 5 == 2 else { throw .linkNotByteString(offset: start) }
        let count = try readLength(initial & 0x1f, start: start)
        let payload = UnsafeBufferPointer(start: base + position, count: count)
        position += count
        guard count > 0, payload[0] == 0x00 else { throw .linkMissingPrefix(offset: start) }
        // Fast path: the only CIDs atproto allows are 36 bytes of this shape.
        if count == 37, payload[1] == 0x01, payload[3] == 0x12, payload[4] == 0x20,
            let codec = CID.Codec(rawValue: UInt64(payload[2])), payload[2] < 0x80
        {
            return CID(codec: codec, digestBytes: UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: payload[5..<37])))
        }
        do {
            return try CID(bytes: UnsafeBufferPointer(rebasing: payload[1...]))
        } catch {
            throw .invalidCID(offset: start, reason: error)
        }
    }
}
