/// Why a Lexicon document was refused: it is not JSON, breaks a rule of the
/// Lexicon spec, or clashes with a document already in a catalog.
///
/// It names the document (when its `id` could be read), where in it the
/// problem is, as a path of JSON keys, and the reason in plain words:
///
/// ```
/// invalid Lexicon document example.lexicon.other at defs/demo: a "ref" cannot be a top-level definition; only a field, array item or union member can be a ref
/// ```
public struct LexiconDocumentError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The document's `id`, when it could be read.
    public var documentID: String?
    /// Where the problem is: JSON keys and array indices joined by `/`, such
    /// as `defs/main/record/properties/text`; empty for the whole document.
    public var location: String
    /// What is wrong.
    public var reason: String

    /// An error at `location` (keys joined by `/`).
    public init(documentID: String?, location: String, reason: String) {
        self.documentID = documentID
        self.location = location
        self.reason = reason
    }

    /// The full message.
    public var description: String {
        var message = "invalid Lexicon document"
        if let documentID { message += " " + documentID }
        if !location.isEmpty { message += " at " + location }
        return message + ": " + reason
    }
}
