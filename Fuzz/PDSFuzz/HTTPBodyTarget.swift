@testable import Atrarium
import ATProto
import PDS
import Sequencer

extension FuzzTargets {
    /// The request bodies the servers parse themselves (CAR bodies have their
    /// own target). The first input byte picks the parser, the rest is the
    /// body:
    /// - 0: an XRPC procedure's JSON object, and the typed field reads the
    ///   handlers make;
    /// - 1: a dashboard API body (plain JSON, fractions allowed) and its
    ///   feedMix;
    /// - 2: a Jetstream subscriber's `options_update` message;
    /// - 3: an uploaded blob's first bytes, sniffed for its MIME type.
    static let httpBody = FuzzTarget(name: "http-body", summary: "XRPC JSON, dashboard API, Jetstream options and blob bodies") { input in
        guard let parser = input.first else { return }
        let body = Array(input.dropFirst())
        switch parser % 4 {
        case 0:
            guard let object = try? ATProtoJSON.decodeRecord(body) else { return }
            for key in object.keys {
                _ = try? object.requiredString(key)
                _ = try? object.optionalBool(key)
            }
        case 1:
            guard let parsed = try? DashboardBody(bytes: body) else { return }
            if let mix = try? FeedMixInput.parse(parsed) {
                let parts = [mix.own, mix.parent, mix.global]
                precondition(parts.allSatisfy { $0 >= 0 } && parts.reduce(0, +) == 100, "feedMix accepted out of its rules: \(mix)")
            }
            for key in parsed.fields.keys {
                _ = try? parsed.strings(key)
                _ = try? parsed.number(key)
            }
        case 2:
            if let options = try? JetstreamOptions(optionsUpdate: body) {
                precondition(options.maxMessageSizeBytes >= 0, "a negative message size was accepted")
                precondition(options.collections.count <= JetstreamOptions.maxCollections, "too many collections accepted")
                precondition(options.dids.count <= JetstreamOptions.maxDids, "too many DIDs accepted")
            }
        default:
            let declared = body.first.map { Array(body.dropFirst()).prefix(Int($0) % 64) }
            let type = MIMESniffer.mimeType(head: body, declared: declared.map { String(decoding: $0, as: UTF8.self) })
            precondition(!type.isEmpty && !type.contains(where: { $0 == "\r" || $0 == "\n" }), "a MIME type that breaks a header: \(type)")
        }
    }
}
