/// The actions a `repo` permission may allow.
public enum RepoAction: String, Sendable, Hashable, CaseIterable {
    case create, update, delete
}

/// The account attributes an `account` permission names.
public enum AccountAttribute: String, Sendable, Hashable {
    case email, repo, status
}

/// How much of an account attribute an `account` permission allows.
public enum AccountAction: String, Sendable, Hashable {
    case read, manage
}

/// One permission of the atproto permission spec (`specs/permission`), as
/// a granular OAuth scope names it.
public enum Permission: Sendable, Hashable {
    /// Writes to records of `collections` (`*` for every collection).
    case repo(collections: Set<String>, actions: Set<RepoAction>)
    /// Uploads of blobs whose MIME type matches one of `accept`
    /// (`*/*`, `image/*`, `image/png`).
    case blob(accept: [String])
    /// Service-auth calls (proxied or by `getServiceAuth`) of `lxms`
    /// (`*` for any) to `aud` (a `did#service`, or `*`).
    case rpc(lxms: Set<String>, aud: String)
    /// Reading or managing an account attribute.
    case account(AccountAttribute, AccountAction)
    /// Control of the handle (`handle`) or of the whole identity (`*`).
    case identity(String)
    /// A permission set, resolved through Lexicon resolution.
    case include(nsid: String, aud: String?)

    /// Whether this permission allows writing a record.
    func allowsRepo(collection: String, action: RepoAction) -> Bool {
        guard case .repo(let collections, let actions) = self else { return false }
        return (collections.contains("*") || collections.contains(collection)) && actions.contains(action)
    }

    /// Whether this permission allows uploading a blob of `mime`.
    func allowsBlob(mime: String) -> Bool {
        guard case .blob(let accept) = self else { return false }
        let lowered = mime.lowercased()
        return accept.contains { pattern in
            if pattern == "*/*" { return true }
            if pattern.hasSuffix("/*") { return lowered.hasPrefix(String(pattern.dropLast()).lowercased()) }
            return pattern.lowercased() == lowered
        }
    }

    /// Whether this permission allows a service-auth call.
    func allowsRPC(lxm: String, aud: String) -> Bool {
        guard case .rpc(let lxms, let allowedAud) = self else { return false }
        return (lxms.contains("*") || lxms.contains(lxm)) && (allowedAud == "*" || allowedAud == aud)
    }
}
