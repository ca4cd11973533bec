import ATProto

/// What handles this server creates: one label of 3–18 characters under one
/// of its user domains (the reference PDS's limits).
enum HandleRules {
    static func validateNew(_ raw: String, config: PDSConfig) throws(XRPCError) -> Handle {
        let handle: Handle
        do {
            handle = try Handle(raw)
        } catch {
            throw XRPCError(.badRequest, "InvalidHandle", "\(error)")
        }
        let normalized = handle.normalized.string
        guard let domain = config.availableUserDomains.first(where: { normalized.hasSuffix($0.lowercased()) }) else {
            throw XRPCError(.badRequest, "UnsupportedDomain", "Not a supported handle domain: use one of \(config.availableUserDomains.joined(separator: ", "))")
        }
        let front = normalized.dropLast(domain.count)
        guard !front.contains(".") else {
            throw XRPCError(.badRequest, "InvalidHandle", "Invalid characters in handle: use one label before \(domain)")
        }
        guard front.count >= 3 else { throw XRPCError(.badRequest, "InvalidHandle", "Handle too short") }
        guard front.count <= 18 else { throw XRPCError(.badRequest, "InvalidHandle", "Handle too long") }
        return handle.normalized
    }
}
