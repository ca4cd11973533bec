import ATProto

/// A permission set (`"type": "permission-set"` in a Lexicon schema,
/// `specs/permission`): permissions an `include:<nsid>` scope stands for.
public struct PermissionSet: Sendable, Equatable {
    public let nsid: String
    public let title: String?
    public let detail: String?
    /// The set's permissions as granular scope strings, with `aud` still to
    /// be filled in where they inherit it (see ``scopes(aud:)``).
    let entries: [Entry]

    enum Entry: Sendable, Equatable {
        case scope(String)
        /// `rpc` with `inheritAud`: its methods, for the `aud` of the `include:`.
        case inheritingRPC([String])
    }

    /// Reads the `main` definition of a Lexicon schema document.
    /// Permissions of an unknown resource, with unknown parameters or
    /// values, or naming resources outside the set's own namespace are
    /// ignored, as the spec requires; a document that is not a permission
    /// set is an error.
    public init(nsid: String, schema: DataValue) throws(OAuthError) {
        guard schema["id"]?.stringValue == nsid, case .map(let main)? = schema["defs"]?["main"],
            main["type"]?.stringValue == "permission-set"
        else { throw .invalidScope("\(nsid) is not a permission set") }
        self.nsid = nsid
        title = main["title"]?.stringValue
        detail = main["detail"]?.stringValue
        // Resources under the set's own group or below it.
        let group = nsid.split(separator: ".").dropLast().joined(separator: ".") + "."
        func inNamespace(_ name: String) -> Bool { name.hasPrefix(group) && NSID.isValid(name) }
        func strings(_ value: DataValue?) -> [String]? {
            guard case .array(let items)? = value else { return nil }
            let names = items.compactMap(\.stringValue)
            return names.count == items.count && !names.isEmpty ? names : nil
        }
        var entries: [Entry] = []
        for item in main["permissions"]?.arrayValue ?? [] {
            guard case .map(let permission) = item, permission["type"]?.stringValue == "permission" else { continue }
            let keys = Set(permission.keys)
            switch permission["resource"]?.stringValue {
            case "repo":
                guard keys.isSubset(of: ["type", "resource", "collection", "action"]), let collections = strings(permission["collection"]),
                    collections.allSatisfy(inNamespace)
                else { continue }
                var actions: [String] = []
                if permission["action"] != nil {
                    guard let given = strings(permission["action"]), given.allSatisfy({ RepoAction(rawValue: $0) != nil }) else { continue }
                    actions = given
                }
                for collection in collections {
                    entries.append(.scope("repo:\(collection)" + (actions.isEmpty ? "" : "?" + actions.map { "action=\($0)" }.joined(separator: "&"))))
                }
            case "rpc":
                guard keys.isSubset(of: ["type", "resource", "lxm", "aud", "inheritAud"]), let methods = strings(permission["lxm"]),
                    methods.allSatisfy(inNamespace)
                else { continue }
                let inherit = permission["inheritAud"]?.boolValue ?? false
                let aud = permission["aud"]?.stringValue
                if inherit {
                    // Both at once is invalid: the permission is ignored.
                    guard aud == nil else { continue }
                    entries.append(.inheritingRPC(methods))
                } else {
                    // DID references are not allowed in sets: only `*`.
                    guard aud == "*" else { continue }
                    for method in methods { entries.append(.scope("rpc:\(method)?aud=*")) }
                }
            default:
                continue  // blob, account and identity may not be in sets; unknown resources are ignored
            }
        }
        self.entries = entries
    }

    /// The granular scopes the set grants when included with `aud`.
    public func scopes(aud: String?) -> [String] {
        entries.flatMap { entry -> [String] in
            switch entry {
            case .scope(let scope): return [scope]
            case .inheritingRPC(let methods):
                guard let aud else { return [] }
                let encoded = aud.replacingOccurrences(of: "#", with: "%23")
                return methods.map { "rpc:\($0)?aud=\(encoded)" }
            }
        }
    }
}
