import ATProto
import FeedGen
import Foundation
import HTTPTypes
import Hummingbird
import PDS

/// The home page, creating and editing a community, and a community's page.
extension DashboardPages {
    /// `GET /dashboard`: the signed-in person's communities and the
    /// instance's busiest; the sign-in form for anyone else.
    func home(_ page: inout Page) async throws -> Response {
        guard page.user != nil else { return try await signInPage(&page) }
        var context = baseContext(page, title: page.t("my_communities"))
        // What `GET /api/communities?member=me` lists, read straight from
        // the index (a read with no authority to check) so that each
        // community's last activity comes with it.
        let me = try page.signedIn.caller.did
        let inactiveDays = api.generator.config.inactiveAfterDays
        let mine = try await api.index.communities(involving: me, limit: 500).map { community, role -> [String: Any] in
            [
                "id": community.id, "name": community.name, "roleLabel": page.t("role_" + (role ?? "pending")),
                "memberCount": community.memberCount, "stageLabel": page.t("stage_" + community.stage),
                "inactive": community.isInactive(days: inactiveDays),
            ]
        }
        context["mine"] = mine
        context["hasMine"] = !mine.isEmpty
        context["overview"] = try await overview(page)
        return html("home", context, page)
    }

    // MARK: - Create and edit

    static let communityFields = ["name", "description", "stage", "accessType", "feedMix", "parentCommunity", "moderators"]

    /// `GET /dashboard/new`.
    func newCommunityPage(_ page: inout Page) async throws -> Response {
        var context = baseContext(page, title: page.t("new_community"))
        context["form"] = ["name": "", "description": "", "open": true, "mixOwn": "100", "mixParent": "0", "mixGlobal": "0", "parentCommunity": ""]
        return html("new", context, page)
    }

    /// The form's community fields as the API's body.
    func communityBody(_ page: Page, editing: Bool) async throws -> [String: DashboardBody.Value] {
        var body: [String: DashboardBody.Value] = [
            "name": .string(page.field("name") ?? ""),
            "accessType": .string(page.field("accessType") ?? "open"),
            "feedMix": .object([
                "own": Self.number(page.field("mixOwn")), "parent": Self.number(page.field("mixParent")),
                "global": Self.number(page.field("mixGlobal")),
            ]),
        ]
        let description = page.field("description")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        body["description"] = description.isEmpty ? (editing ? .null : nil) : .string(description)
        let parent = page.field("parentCommunity")?.trimmingCharacters(in: .whitespaces) ?? ""
        body["parentCommunity"] = parent.isEmpty ? (editing ? .null : nil) : .string(parent)
        if editing {
            if let stage = page.field("stage") { body["stage"] = .string(stage) }
            var moderators: [DashboardBody.Value] = []
            for line in (page.field("moderators") ?? "").split(whereSeparator: \.isNewline) where !line.trimmingCharacters(in: .whitespaces).isEmpty {
                moderators.append(.string(try await did(fromTyped: String(line), field: "moderators").string))
            }
            body["moderators"] = .array(moderators)
        }
        return body
    }

    /// The form as it was sent, to show again beside its errors.
    static func echo(_ page: Page) -> [String: Any] {
        [
            "name": page.field("name") ?? "", "description": page.field("description") ?? "", "open": (page.field("accessType") ?? "open") == "open",
            "mixOwn": page.field("mixOwn") ?? "", "mixParent": page.field("mixParent") ?? "", "mixGlobal": page.field("mixGlobal") ?? "",
            "parentCommunity": page.field("parentCommunity") ?? "", "moderators": page.field("moderators") ?? "",
        ]
    }

    /// Shows a form again with `error` beside its field (or above the form).
    func formAgain(_ template: String, _ page: Page, error: any Error, context extra: [String: Any]) throws -> Response {
        guard let failure = DashboardError.from(error), failure.status == .badRequest || failure.status == .conflict else { throw error }
        var context = baseContext(page, title: page.t(template == "new" ? "new_community" : "edit_community")).merging(extra) { $1 }
        if let field = Self.field(of: failure, among: Self.communityFields + ["user"]) {
            context["errors"] = [field: failure.message]
        } else {
            context["alert"] = failure.message
        }
        return html(template, context, page, status: failure.status)
    }

    /// `POST /dashboard/new`.
    func createCommunity(_ page: inout Page) async throws -> Response {
        do {
            let created = try await call(page, { try await $0.createCommunity($1) }, body: try await communityBody(page, editing: false))
            guard let id = created["community"]?["id"]?.stringValue else { throw DashboardError.badRequest("the community was not created") }
            return Self.redirect("/dashboard/c/\(id)?notice=created", cookies: page.cookies)
        } catch {
            return try formAgain("new", page, error: error, context: ["form": Self.echo(page)])
        }
    }

    /// The community of the `:id` in the path, as the API shows it to the
    /// caller, with what the templates need.
    func community(_ page: Page) async throws -> (view: DataValue, context: [String: Any], indexed: IndexedCommunity?) {
        let answer = try await call(page, { try await $0.getCommunity($1) })
        guard let community = answer["community"] else { throw DashboardError.notFound("CommunityNotFound", "no such community") }
        let role = community["role"]?.stringValue
        let accessType = community["accessType"]?.stringValue ?? "open"
        let indexed = try await api.index.community(id: community["id"]?.stringValue ?? "")
        let context: [String: Any] = [
            "inactive": indexed?.isInactive(days: api.generator.config.inactiveAfterDays) ?? false,
            "id": community["id"]?.stringValue ?? "", "name": community["name"]?.stringValue ?? "",
            "description": community["description"]?.stringValue ?? "", "stage": community["stage"]?.stringValue ?? "theme",
            "stageLabel": page.t("stage_" + (community["stage"]?.stringValue ?? "theme")),
            "accessLabel": page.t(accessType == "open" ? "access_open" : "access_invite"), "open": accessType == "open",
            "role": (role == nil || role == "pending") ? false : true, "pending": role == "pending",
            "roleLabel": role.map { page.t("role_" + $0) } ?? "", "isOwner": role == "owner",
            "canModerate": role == "owner" || role == "moderator", "memberCount": Int(community["memberCount"]?.intValue ?? 0),
            "hashtag": community["hashtag"]?.stringValue ?? "", "feedUri": community["feedUri"]?.stringValue ?? "",
        ]
        return (community, context, indexed)
    }

    /// `GET /dashboard/c/:id`: the community, its hashtag and feed, its
    /// activity, and (for moderators) a hide button on each post.
    func communityPage(_ page: inout Page) async throws -> Response {
        let (view, community, indexed) = try await community(page)
        var context = baseContext(page, title: community["name"] as? String ?? "")
        context["community"] = community
        let id = community["id"] as? String ?? ""
        if let owner = view["owner"]?.stringValue.flatMap({ try? DID($0) }) {
            if try await api.writer.hostedAccount(did: owner) != nil {
                let record = try await api.writer.record(
                    did: owner, collection: AtrariumRecords.feedGenerator, rkey: FeedGenerator.feedRecordKey(communityID: id))
                context["generatorState"] = page.t(record != nil ? "generator_here" : "generator_missing")
            } else {
                context["generatorState"] = page.t("generator_elsewhere")
            }
        }
        let user = try page.signedIn
        if let wait = services.rateLimiter.hit(.init(name: "dashboard-feed", max: api.config.feedRequestsPerHour, window: 3600), key: user.caller.did.string) {
            throw DashboardError(.tooManyRequests, "RateLimitExceeded", "Too many feed reads; try again in \(wait) s", retryAfter: wait)
        }
        let feed = try await call(page, { try await $0.feed($1) }, query: [("limit", "50")])
        let items = feed["feed"]?.arrayValue ?? []
        // Posts hosted elsewhere: their text from the AppView, when one is configured.
        let elsewhere = await AppViewPosts.posts(
            items.filter { $0["text"] == nil }.compactMap { $0["uri"]?.stringValue }, reader: user.caller.did, services: services)
        let authors = await names(of: items.compactMap { $0["author"]?.stringValue.flatMap { try? DID($0) } })
        var posts: [[String: Any]] = []
        for (index, item) in items.enumerated() {
            let uri = item["uri"]?.stringValue ?? ""
            let remote = elsewhere[uri]
            var author = remote?.authorHandle.map { "@" + $0 } ?? ""
            if author.isEmpty, let did = item["author"]?.stringValue.flatMap({ try? DID($0) }) { author = authors[did] ?? did.string }
            let createdAt = item["createdAt"]?.stringValue ?? remote?.createdAt ?? ""
            let post: [String: Any] = [
                "index": index, "uri": uri, "cid": item["cid"]?.stringValue ?? "", "author": author,
                "text": item["text"]?.stringValue ?? remote?.text ?? "", "createdAt": createdAt, "when": Self.when(createdAt),
            ]
            posts.append(post)
        }
        context["posts"] = posts
        context["reasons"] = reasons(page)
        context["charts"] = try await charts(page, id: id, configURI: view["uri"]?.stringValue ?? "")
        if let indexed {
            context["suggestions"] = lifecycleNotes(page, community: indexed, isOwner: community["isOwner"] as? Bool == true)
        }
        return html("community", context, page)
    }

    /// The published moderation reasons, labelled.
    func reasons(_ page: Page) -> [[String: Any]] {
        DashboardAPI.moderationReasons.map { ["value": $0, "label": page.t("reason_" + $0)] }
    }

    /// `GET /dashboard/c/:id/edit` (the owner's).
    func editPage(_ page: inout Page) async throws -> Response {
        let (view, community, _) = try await community(page)
        guard community["isOwner"] as? Bool == true else { throw DashboardError.forbidden("only the owner may edit this community") }
        var context = baseContext(page, title: page.t("edit_community"))
        context["community"] = community
        context["editing"] = true
        var moderators: [String] = []
        for did in (view["moderators"]?.arrayValue ?? []).compactMap({ $0.stringValue.flatMap { try? DID($0) } }) {
            moderators.append(await name(of: did))
        }
        let mix = view["feedMix"]
        context["form"] = [
            "name": view["name"]?.stringValue ?? "", "description": view["description"]?.stringValue ?? "",
            "open": (view["accessType"]?.stringValue ?? "open") == "open",
            "mixOwn": String(mix?["own"]?.intValue ?? 100), "mixParent": String(mix?["parent"]?.intValue ?? 0),
            "mixGlobal": String(mix?["global"]?.intValue ?? 0), "parentCommunity": parentID(view["parentCommunity"]?.stringValue),
            "moderators": moderators.joined(separator: "\n"),
        ]
        context["stages"] = stageOptions(page, current: view["stage"]?.stringValue ?? "theme", selected: view["stage"]?.stringValue ?? "theme")
        context["hasStages"] = true
        return html("edit", context, page)
    }

    /// The stages a community may move to: its own and those after it.
    func stageOptions(_ page: Page, current: String, selected: String) -> [[String: Any]] {
        let from = DashboardAPI.stages.firstIndex(of: current) ?? 0
        return DashboardAPI.stages[from...].map { ["value": $0, "label": page.t("stage_" + $0), "selected": $0 == selected] }
    }

    /// A parent's config URI shown as its id when the index knows it.
    func parentID(_ uri: String?) -> String {
        guard let uri else { return "" }
        if let key = uri.split(separator: "/").last, CommunityHashtag.isValidID(String(key)) { return String(key) }
        return uri
    }

    /// `POST /dashboard/c/:id/edit`.
    func saveCommunity(_ page: inout Page) async throws -> Response {
        let (view, community, _) = try await community(page)
        let id = community["id"] as? String ?? ""
        do {
            _ = try await call(page, { try await $0.updateCommunity($1) }, body: try await communityBody(page, editing: true))
            return Self.redirect("/dashboard/c/\(id)?notice=saved", cookies: page.cookies)
        } catch {
            let current = view["stage"]?.stringValue ?? "theme"
            return try formAgain(
                "edit", page, error: error,
                context: [
                    "community": community, "editing": true, "form": Self.echo(page),
                    "stages": stageOptions(page, current: current, selected: page.field("stage") ?? current), "hasStages": true,
                ])
        }
    }

    // MARK: - Joining and leaving

    /// `POST /dashboard/c/:id/join`.
    func join(_ page: inout Page) async throws -> Response {
        let id = page.context.parameters.get("id") ?? ""
        let joined = try await call(page, { try await $0.join($1) }, body: [:])
        let notice = joined["status"]?.stringValue == "pending" ? "asked" : "joined"
        return Self.redirect("/dashboard/c/\(id)?notice=\(notice)", cookies: page.cookies)
    }

    /// `POST /dashboard/c/:id/leave`.
    func leave(_ page: inout Page) async throws -> Response {
        let id = page.context.parameters.get("id") ?? ""
        let me = try page.signedIn.caller.did.string
        _ = try await call(page, { try await $0.removeMember($1) }, parameters: [("id", id), ("did", me)])
        return Self.redirect("/dashboard?notice=left", cookies: page.cookies)
    }
}
