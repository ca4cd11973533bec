import Foundation
import Logging
import Mustache

/// The messages' texts: a plain-text and an HTML Mustache template per
/// purpose (`reset_password.txt.mustache`, `reset_password.html.mustache`),
/// built in, each replaced by a file of the same name in
/// `<dataDirectory>/mail-templates/` when there is one. A text template's
/// first line is `Subject: …` and a blank line follows it.
///
/// The templates see `token`, `handle`, `hostname`, `email` and `minutes`
/// (how long the token lasts). Values are HTML-escaped in the HTML
/// template (`{{token}}`) and left as they are in the text one.
struct MailTemplates: Sendable {
    struct Message: Sendable, Equatable {
        let subject: String
        let text: String
        let html: String
    }

    private struct Templates: Sendable {
        let subject: MustacheTemplate
        let text: MustacheTemplate
        let html: MustacheTemplate
    }

    private let templates: [EmailTokens.Purpose: Templates]

    /// The directory a self-hoster's templates are read from.
    static func overrideDirectory(dataDirectory: String) -> URL {
        URL(fileURLWithPath: dataDirectory).appendingPathComponent("mail-templates")
    }

    /// Loads every template, the data directory's copies first.
    /// - Throws: ``MailTemplateError`` naming the file that cannot be used
    ///   (the server does not start with a broken template: better than
    ///   finding out when a user asks for a password reset).
    init(dataDirectory: String, logger: Logger) throws {
        let overrides = Self.overrideDirectory(dataDirectory: dataDirectory)
        guard let builtIn = Bundle.module.url(forResource: "templates", withExtension: nil) else {
            throw MailTemplateError.missing("the built-in templates directory")
        }
        var loaded: [EmailTokens.Purpose: Templates] = [:]
        for purpose in EmailTokens.Purpose.allCases {
            func source(_ suffix: String) throws -> (text: String, file: String) {
                let name = "\(purpose.rawValue).\(suffix).mustache"
                let custom = overrides.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: custom.path) {
                    logger.info("using a mail template of the data directory", metadata: ["file": .string(custom.path)])
                    return (try String(contentsOf: custom, encoding: .utf8), custom.path)
                }
                return (try String(contentsOf: builtIn.appendingPathComponent(name), encoding: .utf8), name)
            }
            let text = try source("txt")
            let html = try source("html")
            let (subjectLine, body) = try Self.splitSubject(text.text, file: text.file)
            do {
                loaded[purpose] = Templates(
                    subject: try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + subjectLine),
                    text: try MustacheTemplate(string: "{{% CONTENT_TYPE: TEXT}}" + body),
                    html: try MustacheTemplate(string: html.text))
            } catch {
                throw MailTemplateError.invalid(text.file + " or " + html.file, "\(error)")
            }
        }
        templates = loaded
    }

    /// `Subject: …`, a blank line, then the body.
    static func splitSubject(_ source: String, file: String) throws -> (subject: String, body: String) {
        let normalized = source.replacingOccurrences(of: "\r\n", with: "\n")
        guard normalized.hasPrefix("Subject:"), let end = normalized.range(of: "\n\n") else {
            throw MailTemplateError.invalid(file, "the first line must be 'Subject: …', followed by a blank line")
        }
        let subject = normalized[normalized.index(normalized.startIndex, offsetBy: 8)..<end.lowerBound]
        return (subject.trimmingCharacters(in: .whitespaces), String(normalized[end.upperBound...]))
    }

    /// The message of `purpose` with `values` filled in.
    func render(_ purpose: EmailTokens.Purpose, values: [String: String]) -> Message {
        guard let templates = templates[purpose] else { preconditionFailure("every purpose has templates (loaded in init)") }
        return Message(
            subject: templates.subject.render(values).trimmingCharacters(in: .whitespacesAndNewlines),
            text: templates.text.render(values), html: templates.html.render(values))
    }
}

/// A template that cannot be used.
enum MailTemplateError: Error, CustomStringConvertible {
    case missing(String)
    case invalid(String, String)

    var description: String {
        switch self {
        case .missing(let what): return "mail templates: \(what) is missing from this build"
        case .invalid(let file, let why): return "mail template \(file) cannot be used: \(why)"
        }
    }
}
