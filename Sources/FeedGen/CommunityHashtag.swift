import ATProto

/// Community hashtags: `#atrarium_` followed by 8 lowercase hex digits (the
/// community id); the older `#atr_` form names the same id. The exact match
/// of the second filter stage.
public enum CommunityHashtag {
    /// The hashtag of a community id.
    public static func hashtag(id: String) -> String { "#atrarium_" + id }

    /// Whether `id` is 8 lowercase hex digits.
    public static func isValidID(_ id: some StringProtocol) -> Bool {
        id.utf8.count == 8 && id.utf8.allSatisfy(isHex)
    }

    /// The community id of a config record's `hashtag` field
    /// (`#atrarium_xxxxxxxx`), or nil when it is not exactly that.
    public static func id(ofHashtag hashtag: String) -> String? {
        guard hashtag.hasPrefix("#atrarium_") else { return nil }
        let id = hashtag.dropFirst("#atrarium_".count)
        return isValidID(id) ? String(id) : nil
    }

    /// The community id of a tag without its `#` (a facet or post tag):
    /// `atrarium_xxxxxxxx` or `atr_xxxxxxxx`.
    public static func id(ofTag tag: String) -> String? {
        let bare = tag.hasPrefix("#") ? tag.dropFirst() : Substring(tag)
        for prefix in ["atrarium_", "atr_"] where bare.hasPrefix(prefix) {
            let id = bare.dropFirst(prefix.count)
            return isValidID(id) ? String(id) : nil
        }
        return nil
    }

    /// Every community a post tags, in order of first appearance, without
    /// repeats: hashtags in its text, facet tags, and its `tags`.
    public static func communityIDs(inPost record: DataValue) -> [String] {
        var ids: [String] = []
        func add(_ id: String?) {
            if let id, !ids.contains(id) { ids.append(id) }
        }
        if let text = record["text"]?.stringValue {
            for id in Self.ids(inText: text) { add(id) }
        }
        for facet in record["facets"]?.arrayValue ?? [] {
            for feature in facet["features"]?.arrayValue ?? []
            where feature["$type"]?.stringValue == "app.bsky.richtext.facet#tag" {
                add(feature["tag"]?.stringValue.flatMap(id(ofTag:)))
            }
        }
        for tag in record["tags"]?.arrayValue ?? [] {
            add(tag.stringValue.flatMap(id(ofTag:)))
        }
        return ids
    }

    /// The ids of `#atrarium_xxxxxxxx` and `#atr_xxxxxxxx` hashtags in text.
    /// A hashtag ends at a character that cannot continue a tag, so
    /// `#atrarium_1234abcdx` and `#atrarium_1234ABCD` are not hashtags.
    public static func ids(inText text: String) -> [String] {
        let bytes = Array(text.utf8)
        var result: [String] = []
        var i = 0
        while i < bytes.count {
            guard bytes[i] == UInt8(ascii: "#") else {
                i += 1
                continue
            }
            // The `#` must start a tag: not preceded by a tag character.
            let startsTag = i == 0 || !isTagCharacter(bytes[i - 1])
            for prefix in [Self.longPrefix, Self.shortPrefix] where startsTag && matches(bytes, at: i + 1, prefix) {
                let start = i + 1 + prefix.count
                let end = start + 8
                guard end <= bytes.count, bytes[start..<end].allSatisfy(isHex) else { break }
                guard end == bytes.count || !isTagCharacter(bytes[end]) else { break }
                let id = String(decoding: bytes[start..<end], as: UTF8.self)
                if !result.contains(id) { result.append(id) }
                break
            }
            i += 1
        }
        return result
    }

    static let longPrefix = Array("atrarium_".utf8)
    static let shortPrefix = Array("atr_".utf8)

    private static func matches(_ bytes: [UInt8], at offset: Int, _ prefix: [UInt8]) -> Bool {
        guard offset + prefix.count <= bytes.count else { return false }
        for k in 0..<prefix.count where bytes[offset + k] != prefix[k] { return false }
        return true
    }

    static func isHex(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66)
    }

    private static func isTagCharacter(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == UInt8(ascii: "_") || b >= 0x80
    }
}
