import Foundation

/// The Lexicon JSON documents the server knows (`com.atproto.*`,
/// `app.bsky.*`, and the project's own `net.atrarium.*`), shipped inside the
/// binary as resources. See `lexicons/README.md` for their source and license.
public enum LexiconFiles {
    /// The top-level folders of the bundled documents.
    static let roots = ["com", "app", "net"]

    /// The raw bytes of every bundled Lexicon document.
    public static func all() throws -> [Data] {
        var documents: [Data] = []
        for root in roots {
            guard let folder = Bundle.module.url(forResource: root, withExtension: nil) else { continue }
            guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else { continue }
            for case let url as URL in walker where url.pathExtension == "json" {
                documents.append(try Data(contentsOf: url))
            }
        }
        return documents
    }
}
