import Foundation

/// Reads the test vectors copied into `Tests/Fixtures` (shared by every test
/// target) (see its README for
/// their source and license), independent of the working directory.
public enum Fixtures {
    /// The `Tests/Fixtures` folder.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    /// The bytes of a fixture file, by path relative to `Tests/Fixtures`.
    public static func data(_ path: String) throws -> Data {
        try Data(contentsOf: root.appendingPathComponent(path))
    }

    /// A JSON fixture decoded with Foundation's parser.
    public static func json(_ path: String) throws -> Any {
        try JSONSerialization.jsonObject(with: data(path), options: [.fragmentsAllowed])
    }

    /// The test values of a text list: one per line, `#` lines are comments,
    /// empty lines are skipped, and lines are never trimmed.
    public static func lines(_ path: String) throws -> [String] {
        let text = String(decoding: try data(path), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: true)
            .map(String.init)
            .filter { !$0.hasPrefix("#") }
    }
}
