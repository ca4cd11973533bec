/// A parsed OAuth `scope`: `atproto`, the `transition:` scopes and the
/// granular permissions (`specs/permission`), with the checks the server
/// makes before each use of a token.
///
/// `transition:generic` allows what an app password allows: records,
/// blobs and service calls except `chat.bsky.*` (which also needs
/// `transition:chat.bsky`). `transition:email` allows reading the email.
public struct OAuthScope: Sendable, Hashable, CustomStringConvertible {
    /// The scope's tokens, in order, without repeats.
    public let tokens: [String]
    /// The granular permissions among them.
    public let permissions: [Permission]

    public var hasAtproto: Bool { tokens.contains("atproto") }
    public var transitionGeneric: Bool { tokens.contains("transition:generic") }
    public var transitionChat: Bool { tokens.contains("transition:chat.bsky") }
    public var transitionEmail: Bool { tokens.contains("transition:email") }

    /// The scope as sent (space-separated tokens).
    public var description: String { tokens.joined(separator: " ") }

    /// The static scopes this server knows.
    public static let staticScopes = ["atproto", "transition:generic", "transition:chat.bsky", "transition:email"]

    /// Parses a space-separated scope; every token must be a static scope
    /// or a valid permission (`invalid_scope` names the first that is not).
    public init(_ text: String) throws(OAuthError) {
        var seen = Set<String>()
        var tokens: [String] = []
        var permissions: [Permission] = []
        for piece in text.split(whereSeparator: { $0 == " " }) {
            let token = String(piece)
            guard seen.insert(token).inserted else { continue }
            tokens.append(token)
            if Self.staticScopes.contains(token) { continue }
            permissions.append(try ScopeSyntax.permission(token))
        }
        self.tokens = tokens
        self.permissions = permissions
    }

    /// Whether every token of this scope is also one of `other`'s: a
    /// request may ask for no more than its client declared.
    public func isWithin(_ other: OAuthScope) -> Bool {
        let allowed = Set(other.tokens)
        return tokens.allSatisfy(allowed.contains)
    }

    public func allowsRepo(collection: String, action: RepoAction) -> Bool {
        transitionGeneric || permissions.contains { $0.allowsRepo(collection: collection, action: action) }
    }

    public func allowsBlob(mime: String) -> Bool {
        transitionGeneric || permissions.contains { $0.allowsBlob(mime: mime) }
    }

    /// Whether a service-auth call of `lxm` to `aud` (`did#service`) is allowed.
    public func allowsRPC(lxm: String, aud: String) -> Bool {
        if transitionGeneric && (!lxm.hasPrefix("chat.bsky.") || transitionChat) { return true }
        return permissions.contains { $0.allowsRPC(lxm: lxm, aud: aud) }
    }

    /// Whether the account attribute may be read (`.read`) or changed (`.manage`).
    public func allowsAccount(_ attribute: AccountAttribute, _ action: AccountAction) -> Bool {
        if attribute == .email && action == .read && transitionEmail { return true }
        return permissions.contains { permission in
            guard case .account(let granted, let grantedAction) = permission, granted == attribute else { return false }
            return grantedAction == .manage || action == .read
        }
    }

    /// Whether the handle (`handle`) or the whole identity (`*`) may be changed.
    public func allowsIdentity(_ attribute: String) -> Bool {
        permissions.contains { permission in
            guard case .identity(let granted) = permission else { return false }
            return granted == "*" || granted == attribute
        }
    }
}
