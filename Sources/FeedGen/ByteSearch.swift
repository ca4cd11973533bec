#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Substring search in raw bytes (`memchr` for the first byte, then
/// `memcmp`), for the cheap filter that runs on every ingested message.
enum ByteSearch {
    /// The offset of the first occurrence of `needle` in `haystack`, or nil.
    static func find(_ needle: StaticString, in haystack: UnsafeRawBufferPointer, from start: Int = 0) -> Int? {
        let count = needle.utf8CodeUnitCount
        guard let base = haystack.baseAddress, count > 0, haystack.count - start >= count else { return nil }
        let first = Int32(needle.utf8Start.pointee)
        var offset = start
        let last = haystack.count - count
        while offset <= last {
            guard let hit = memchr(base + offset, first, last - offset + 1) else { return nil }
            let position = base.distance(to: UnsafeRawPointer(hit))
            if memcmp(base + position, needle.utf8Start, count) == 0 { return position }
            offset = position + 1
        }
        return nil
    }

    static func contains(_ needle: StaticString, in haystack: UnsafeRawBufferPointer) -> Bool {
        find(needle, in: haystack) != nil
    }
}
