import OAuth

/// Permissions in plain words, for the consent page.
enum PermissionDescriptions {
    /// - Parameter sets: the `include:` sets that resolved, by NSID.
    static func describe(_ scope: OAuthScope, sets: [String: PermissionSet] = [:]) -> [String] {
        var lines: [String] = []
        if scope.transitionGeneric {
            lines.append("Read and change everything in your account's public data: posts, likes, follows, lists, your profile; upload pictures and videos; and use other atproto services on your behalf (not direct messages)")
        }
        if scope.transitionChat { lines.append("Read and send your direct messages") }
        if scope.transitionEmail { lines.append("See your email address") }
        for permission in scope.permissions { lines.append(describe(permission, sets: sets)) }
        if lines.isEmpty { lines.append("Know which account you are (your handle and DID), and nothing more") }
        return lines
    }

    static func describe(_ permission: Permission, sets: [String: PermissionSet] = [:]) -> String {
        switch permission {
        case .repo(let collections, let actions):
            let verbs = RepoAction.allCases.filter(actions.contains).map { action in
                switch action {
                case .create: "create"
                case .update: "change"
                case .delete: "delete"
                }
            }
            let what = collections.contains("*") ? "records of any kind" : "records of type " + collections.sorted().joined(separator: ", ")
            return "\(verbs.joined(separator: ", ").capitalizedFirst) \(what) in your public data"
        case .blob(let accept):
            return accept.contains("*/*") ? "Upload files of any type" : "Upload files of type " + accept.joined(separator: ", ")
        case .rpc(let lxms, let aud):
            let methods = lxms.contains("*") ? "any method" : lxms.sorted().joined(separator: ", ")
            let service = aud == "*" ? "any service" : aud
            return "Call \(methods) on \(service) on your behalf"
        case .account(let attribute, let action):
            switch (attribute, action) {
            case (.email, .read): return "See your email address"
            case (.email, .manage): return "See and change your email address"
            case (.repo, .read): return "Read your account's repository settings"
            case (.repo, .manage): return "Replace your whole public data with an imported repository"
            case (.status, .read): return "See whether your account is active"
            case (.status, .manage): return "Deactivate or reactivate your account"
            }
        case .identity(let attribute):
            return attribute == "*" ? "Control your identity: your handle and your DID document" : "Change your handle"
        case .include(let nsid, let aud):
            guard let set = sets[nsid] else {
                return "The permissions of \(nsid), which could not be looked up: they grant nothing until they can be"
            }
            let title = set.title ?? nsid
            return title + (set.detail.map { ": \($0)" } ?? "") + (aud.map { " (with \($0))" } ?? "")
        }
    }
}

extension String {
    fileprivate var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}
