import Foundation

/// The languages of the dashboard's pages: English and Japanese, Atrarium's
/// own. Chosen by the `atrarium-lang` cookie (set by the switch on every
/// page), else the browser's `Accept-Language`, else English.
enum PageLanguage: String, Sendable, CaseIterable {
    case en, ja

    static let cookieName = "atrarium-lang"

    /// The language of a request: the cookie, then `Accept-Language` in
    /// the browser's order of preference (q-values honoured).
    static func of(cookie: String?, acceptLanguage: String?) -> PageLanguage {
        if let cookie, let chosen = PageLanguage(rawValue: cookie) { return chosen }
        guard let acceptLanguage else { return .en }
        let ranked = acceptLanguage.split(separator: ",").compactMap { part -> (String, Double)? in
            let pieces = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let tag = pieces.first?.lowercased(), !tag.isEmpty else { return nil }
            let q = pieces.dropFirst().first { $0.hasPrefix("q=") }.flatMap { Double($0.dropFirst(2)) } ?? 1
            return (tag, q)
        }
        for (tag, _) in ranked.sorted(by: { $0.1 > $1.1 }) {
            let primary = String(tag.prefix { $0 != "-" })
            if let language = PageLanguage(rawValue: primary) { return language }
        }
        return .en
    }

    /// The page texts, by key; a key missing in Japanese falls back to English.
    var strings: [String: String] {
        self == .en ? PageStrings.en : PageStrings.en.merging(PageStrings.ja) { _, ja in ja }
    }
}
