import ATProto
import FeedGen
import Foundation
import Hummingbird
import OAuth
import PDS

/// How the pages use the API: each action is the API's own handler, called
/// with the signed-in caller and the form turned into the API's JSON body.
extension DashboardPages {
    /// Calls an API handler and answers its JSON.
    func call(
        _ page: Page, _ handler: (DashboardAPI, DashboardRequest) async throws -> DashboardAnswer,
        body: [String: DashboardBody.Value]? = nil, parameters: [(String, String)]? = nil, query: [(String, String)] = []
    ) async throws -> DataValue {
        let user = try page.signedIn
        let request = DashboardRequest(
            caller: user.caller, body: body.map(DashboardBody.init(fields:)),
            parameters: parameters.map { Parameters($0.map { (Substring($0.0), Substring($0.1)) }) } ?? page.context.parameters,
            query: Parameters(query.map { (Substring($0.0), Substring($0.1)) }))
        let answer = try await handler(api, request)
        return (try? ATProtoJSON.decode(answer.body[...], mode: .lenient)) ?? .null
    }

    /// The field an API error is about: the first of `fields` its message
    /// names (the API's messages begin with the field: "feedMix must …").
    static func field(of error: DashboardError, among fields: [String]) -> String? {
        guard error.status == .badRequest else { return nil }
        let words = error.message.split(whereSeparator: { !$0.isLetter && !$0.isNumber })
        for word in words {
            if let found = fields.first(where: { $0 == word || "\($0)s" == word }) { return found }
            // feedMix's own keys, as FeedMixInput names them ("own must be a number").
            if ["own", "parent", "global"].contains(word), fields.contains("feedMix") { return "feedMix" }
        }
        return nil
    }

    /// A form value as the API's JSON: a whole number when it reads as one
    /// (feedMix percentages), else the text.
    static func number(_ text: String?) -> DashboardBody.Value {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return .integer(0) }
        if let n = Int(text) { return .integer(n) }
        if let d = Double(text), d.isFinite { return .number(d) }
        return .string(text)
    }

    /// A handle or DID typed into a form, as a DID.
    func did(fromTyped text: String, field: String) async throws -> DID {
        var typed = text.trimmingCharacters(in: .whitespaces)
        if typed.hasPrefix("@") { typed.removeFirst() }
        if typed.hasPrefix("did:") {
            guard let did = try? DID(typed) else { throw DashboardError.badRequest("\(field): \(typed) is not a valid DID") }
            return did
        }
        guard (try? Handle(typed.lowercased())) != nil, let did = await services.resolveHandle(typed) else {
            throw DashboardError.badRequest("\(field): no account has the handle \(typed)")
        }
        return did
    }

    /// How the pages name an account: the handle of an account hosted
    /// here, else its DID (resolving every member's DID document would
    /// make a page of 10,000 members wait on the network).
    func name(of did: DID) async -> String {
        if let account = try? await services.accounts.account(did: did), account.status != .deleted { return "@" + account.handle.string }
        return did.string
    }

    /// ``name(of:)`` for many accounts, in one read.
    func names(of dids: [DID]) async -> [DID: String] {
        let handles = (try? await services.accounts.handles(of: dids)) ?? [:]
        return Dictionary(dids.map { ($0, handles[$0].map { "@" + $0.string } ?? $0.string) }, uniquingKeysWith: { a, _ in a })
    }

    /// A date as the pages show it (UTC, minutes).
    static func when(_ datetime: String) -> String {
        guard let date = (try? ATDatetime(datetime))?.date else { return datetime }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
