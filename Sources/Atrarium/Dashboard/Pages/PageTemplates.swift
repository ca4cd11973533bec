import Foundation
import Mustache

/// The dashboard's Mustache templates and static assets, bundled with the
/// target (`Dashboard/Pages/templates`, `Dashboard/Pages/assets`) and
/// loaded once at start: a broken template stops the server naming it,
/// rather than failing a page later.
struct PageTemplates: Sendable {
    let library: MustacheLibrary
    let stylesheet: [UInt8]
    let script: [UInt8]

    /// A template or asset that could not be loaded.
    struct LoadError: Error, CustomStringConvertible {
        let description: String
    }

    init() throws {
        guard let templates = Bundle.module.url(forResource: "templates", withExtension: nil),
            let assets = Bundle.module.url(forResource: "assets", withExtension: nil)
        else { throw LoadError(description: "the dashboard's templates are missing from the build") }
        var library = MustacheLibrary()
        let files = try FileManager.default.contentsOfDirectory(atPath: templates.path).filter { $0.hasSuffix(".mustache") }
        for file in files {
            let text = try String(contentsOf: templates.appendingPathComponent(file), encoding: .utf8)
            do {
                try library.register(text, named: String(file.dropLast(".mustache".count)))
            } catch {
                throw LoadError(description: "dashboard template \(file): \(error)")
            }
        }
        self.library = library
        stylesheet = Array(try Data(contentsOf: assets.appendingPathComponent("dashboard.css")))
        script = Array(try Data(contentsOf: assets.appendingPathComponent("dashboard.js")))
    }

    /// Renders template `name` with `context` (values HTML-escaped unless
    /// the template uses triple braces, which only server-made SVG does).
    func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? "template \(name) is missing"
    }
}
