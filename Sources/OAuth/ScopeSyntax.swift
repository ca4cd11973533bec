import ATProto

/// The string syntax of permission scopes: `resource[:positional][?query]`
/// with percent-encoded values and repeated parameters for arrays
/// (`specs/permission`, "Scope String Syntax").
enum ScopeSyntax {
    /// Parses one granular scope token.
    static func permission(_ token: String) throws(OAuthError) -> Permission {
        guard token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidScope("scope \(token) holds characters outside printable ASCII")
        }
        let (resource, positional, parameters) = try split(token)
        func values(_ name: String, positionalName: Bool) throws(OAuthError) -> [String] {
            let named = parameters.filter { $0.0 == name }.map(\.1)
            if positionalName, let positional {
                guard named.isEmpty else { throw .invalidScope("scope \(token) gives \(name) both positionally and as a parameter") }
                return [positional]
            }
            return named
        }
        let known: Set<String>
        let permission: Permission
        switch resource {
        case "repo":
            known = ["collection", "action"]
            let collections = try values("collection", positionalName: true)
            guard !collections.isEmpty, collections.allSatisfy({ $0 == "*" || NSID.isValid($0) }) else {
                throw .invalidScope("scope \(token) needs collections that are NSIDs or *")
            }
            let actionNames = try values("action", positionalName: false)
            var actions = Set<RepoAction>()
            for name in actionNames {
                guard let action = RepoAction(rawValue: name) else { throw .invalidScope("scope \(token) has an unknown action \(name)") }
                actions.insert(action)
            }
            permission = .repo(collections: Set(collections), actions: actions.isEmpty ? Set(RepoAction.allCases) : actions)
        case "blob":
            known = ["accept"]
            let accept = try values("accept", positionalName: true)
            guard !accept.isEmpty, accept.allSatisfy(isMIMEPattern) else {
                throw .invalidScope("scope \(token) needs MIME types or patterns (*/*, image/*)")
            }
            permission = .blob(accept: accept)
        case "rpc":
            known = ["lxm", "aud"]
            let lxms = try values("lxm", positionalName: true)
            let auds = try values("aud", positionalName: false)
            guard !lxms.isEmpty, lxms.allSatisfy({ $0 == "*" || NSID.isValid($0) }) else {
                throw .invalidScope("scope \(token) needs lxm values that are NSIDs or *")
            }
            guard auds.count == 1, let aud = auds.first, aud == "*" || isServiceReference(aud) else {
                throw .invalidScope("scope \(token) needs one aud: a DID with a #service fragment, or *")
            }
            guard !(aud == "*" && lxms.contains("*")) else { throw .invalidScope("scope \(token) may not have both lxm and aud wildcards") }
            permission = .rpc(lxms: Set(lxms), aud: aud)
        case "account":
            known = ["attr", "action"]
            let attrs = try values("attr", positionalName: true)
            let actions = try values("action", positionalName: false)
            guard attrs.count == 1, let attr = AccountAttribute(rawValue: attrs[0]) else {
                throw .invalidScope("scope \(token) needs one attr: email, repo or status")
            }
            guard actions.count <= 1, let action = AccountAction(rawValue: actions.first ?? "read") else {
                throw .invalidScope("scope \(token) has an action other than read or manage")
            }
            permission = .account(attr, action)
        case "identity":
            known = ["attr"]
            let attrs = try values("attr", positionalName: true)
            guard attrs.count == 1, ["handle", "*"].contains(attrs[0]) else { throw .invalidScope("scope \(token) needs attr handle or *") }
            permission = .identity(attrs[0])
        case "include":
            known = ["nsid", "aud"]
            let nsids = try values("nsid", positionalName: true)
            let auds = try values("aud", positionalName: false)
            guard nsids.count == 1, NSID.isValid(nsids[0]) else { throw .invalidScope("scope \(token) needs one permission set NSID") }
            guard auds.count <= 1, auds.allSatisfy(isServiceReference) else {
                throw .invalidScope("scope \(token) has an aud that is not a DID with a #service fragment")
            }
            permission = .include(nsid: nsids[0], aud: auds.first)
        default:
            throw .invalidScope("scope \(token) is not one this server knows")
        }
        if let unknown = parameters.first(where: { !known.contains($0.0) }) {
            throw .invalidScope("scope \(token) has an unknown parameter \(unknown.0)")
        }
        return permission
    }

    /// `resource`, the positional part and the decoded parameters.
    private static func split(_ token: String) throws(OAuthError) -> (String, String?, [(String, String)]) {
        let (head, query) = token.firstIndex(of: "?").map { (token[..<$0], token[token.index(after: $0)...]) } ?? (token[...], nil)
        let (resource, positional) = head.firstIndex(of: ":").map { (head[..<$0], head[head.index(after: $0)...]) } ?? (head, nil)
        guard !resource.isEmpty else { throw .invalidScope("scope \(token) has no resource name") }
        var decodedPositional: String? = nil
        if let positional {
            guard !positional.isEmpty, let value = String(positional).removingPercentEncoding else {
                throw .invalidScope("scope \(token) has an empty or badly encoded positional part")
            }
            decodedPositional = value
        }
        var parameters: [(String, String)] = []
        for pair in (query ?? "").split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, let name = String(parts[0]).removingPercentEncoding,
                let value = String(parts[1]).removingPercentEncoding, !value.isEmpty
            else { throw .invalidScope("scope \(token) has a malformed parameter \(pair)") }
            parameters.append((name, value))
        }
        return (String(resource), decodedPositional, parameters)
    }

    /// `type/subtype`, `type/*` or `*/*`.
    static func isMIMEPattern(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else { return false }
        if parts[0] == "*" { return parts[1] == "*" }
        return !parts[0].contains("*") && (parts[1] == "*" || !parts[1].contains("*"))
    }

    /// A DID followed by a `#service` fragment.
    static func isServiceReference(_ text: String) -> Bool {
        let parts = text.split(separator: "#", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[1].isEmpty && DID.isValid(String(parts[0]))
    }
}
