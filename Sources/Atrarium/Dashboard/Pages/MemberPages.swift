import ATProto
import FeedGen
import Foundation
import HTTPTypes
import Hummingbird
import PDS

/// The members page and the moderation page.
extension DashboardPages {
    /// Members shown on one page (the rest stay in the API's list).
    static let membersShown = 500

    /// `GET /dashboard/c/:id/members`: claims waiting for approval (for
    /// moderators), then the members with the actions the caller may take.
    func membersPage(_ page: inout Page) async throws -> Response {
        let (view, community, _) = try await community(page)
        var context = baseContext(page, title: page.t("members"))
        context["community"] = community
        let listed = try await call(page, { try await $0.listMembers($1) })
        let me = try page.signedIn.caller.did.string
        let owner = view["owner"]?.stringValue ?? ""
        let isOwner = me == owner, canModerate = community["canModerate"] as? Bool == true
        var pending: [[String: Any]] = [], active: [[String: Any]] = []
        let shown = (listed["members"]?.arrayValue ?? []).prefix(Self.membersShown)
        let names = await names(of: shown.compactMap { $0["did"]?.stringValue.flatMap { try? DID($0) } })
        for member in shown {
            guard let did = member["did"]?.stringValue.flatMap({ try? DID($0) }) else { continue }
            let role = member["role"]?.stringValue ?? "member", status = member["status"]?.stringValue ?? "active"
            var row: [String: Any] = ["did": did.string, "name": names[did] ?? did.string, "roleLabel": page.t("role_" + role)]
            if status == "pending" {
                pending.append(row)
                continue
            }
            row["blocked"] = status == "blocked"
            row["canRemove"] = canModerate && did.string != owner && did.string != me && (role != "moderator" || isOwner)
            row["canPromote"] = isOwner && role == "member" && status == "active"
            row["canDemote"] = isOwner && role == "moderator"
            active.append(row)
        }
        context["pending"] = pending
        context["active"] = active
        return html("members", context, page)
    }

    /// `POST /dashboard/c/:id/members` with `did` and `action` (approve,
    /// remove, promote, demote).
    func memberAction(_ page: inout Page) async throws -> Response {
        let id = page.context.parameters.get("id") ?? ""
        guard let did = page.field("did"), (try? DID(did)) != nil else { throw DashboardError.badRequest("no account was named") }
        let parameters = [("id", id), ("did", did)]
        let notice: String
        switch page.field("action") {
        case "approve":
            _ = try await call(page, { try await $0.updateMember($1) }, body: ["status": .string("active")], parameters: parameters)
            notice = "approved"
        case "promote", "demote":
            let role = page.field("action") == "promote" ? "moderator" : "member"
            _ = try await call(page, { try await $0.updateMember($1) }, body: ["role": .string(role)], parameters: parameters)
            notice = "role_changed"
        case "remove":
            _ = try await call(page, { try await $0.removeMember($1) }, parameters: parameters)
            notice = "removed"
        default:
            throw DashboardError.badRequest("unknown member action")
        }
        return Self.redirect("/dashboard/c/\(id)/members?notice=\(notice)", cookies: page.cookies)
    }

    /// `GET /dashboard/c/:id/moderation`: block an account; the history,
    /// with the hidden post's text where it is hosted here and an undo.
    func moderationPage(_ page: inout Page, form: [String: Any] = [:], error: DashboardError? = nil) async throws -> Response {
        let (_, community, _) = try await community(page)
        guard community["canModerate"] as? Bool == true else { throw DashboardError.forbidden("only the owner or a moderator may moderate") }
        var context = baseContext(page, title: page.t("moderation"))
        context["community"] = community
        context["reasons"] = reasons(page)
        context["form"] = form
        if let error { context["errors"] = ["user": error.message] }
        let id = community["id"] as? String ?? ""
        let listed = try await call(page, { try await $0.listModerationActions($1) }, query: [("community", id)])
        // The latest action per target decides; only that one offers an undo.
        var seen = Set<String>()
        var rows: [[String: Any]] = []
        let actions = listed["actions"]?.arrayValue ?? []
        let names = await names(
            of: actions.flatMap { [$0["author"]?.stringValue, $0["user"]?.stringValue].compactMap { $0.flatMap { try? DID($0) } } })
        for action in actions {
            let kind = action["action"]?.stringValue ?? ""
            let post = action["post"]?.stringValue, user = action["user"]?.stringValue
            let target = post ?? user ?? ""
            var row: [String: Any] = [
                "when": Self.when(action["createdAt"]?.stringValue ?? ""), "createdAt": action["createdAt"]?.stringValue ?? "",
                "actionLabel": page.t("action_" + kind), "target": target,
                "reasonLabel": action["reason"]?.stringValue.map { page.strings["reason_" + $0] ?? $0 } ?? "",
                "by": action["author"]?.stringValue.flatMap { try? DID($0) }.map { names[$0] ?? $0.string } ?? "",
            ]
            if let user, let did = try? DID(user) { row["target"] = names[did] ?? user }
            if let post, let parts = DashboardAPI.parts(ofURI: post),
                let record = try await api.writer.record(did: parts.did, collection: parts.collection, rkey: parts.rkey)
            {
                row["postText"] = record.value["text"]?.stringValue ?? ""
            }
            if action["effective"]?.boolValue == true, seen.insert(target).inserted {
                switch kind {
                case "hide_post": row["undo"] = "unhide_post"; row["undoLabel"] = page.t("unhide"); row["post"] = post ?? ""
                case "block_user": row["undo"] = "unblock_user"; row["undoLabel"] = page.t("unblock"); row["userDID"] = user ?? ""
                default: break
                }
            }
            rows.append(row)
        }
        context["actions"] = rows
        return html("moderation", context, page, status: error == nil ? .ok : error!.status)
    }

    /// `POST /dashboard/c/:id/moderation` with `action` and `post` (and
    /// `cid`) or `user` (a handle or DID), and `reason`.
    func moderate(_ page: inout Page) async throws -> Response {
        let id = page.context.parameters.get("id") ?? ""
        let action = page.field("action") ?? ""
        var body: [String: DashboardBody.Value] = ["community": .string(id), "action": .string(action)]
        if let reason = page.field("reason") { body["reason"] = .string(reason) }
        if action == "hide_post" || action == "unhide_post" {
            body["post"] = .string(page.field("post") ?? "")
            if let cid = page.field("cid") { body["cid"] = .string(cid) }
        } else {
            do {
                body["user"] = .string(try await did(fromTyped: page.field("user") ?? "", field: "user").string)
                _ = try await call(page, { try await $0.createModerationAction($1) }, body: body)
            } catch {
                guard let failure = DashboardError.from(error), failure.status == .badRequest || failure.status == .forbidden else { throw error }
                return try await moderationPage(&page, form: ["user": page.field("user") ?? ""], error: failure)
            }
            return Self.redirect("/dashboard/c/\(id)/moderation?notice=\(action == "block_user" ? "blocked_done" : "unblocked_done")", cookies: page.cookies)
        }
        _ = try await call(page, { try await $0.createModerationAction($1) }, body: body)
        let back = action == "hide_post" ? "/dashboard/c/\(id)?notice=hidden" : "/dashboard/c/\(id)/moderation?notice=shown"
        return Self.redirect(back, cookies: page.cookies)
    }
}
