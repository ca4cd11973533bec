import ATProto
import Foundation
import LexiconFiles

/// The Atrarium record collections and their readers. Each reader checks
/// the record against its Lexicon and then the rules Lexicon cannot state
/// (the hashtag pattern, the feed mix summing to 100).
public enum AtrariumRecords {
    public static let config = NSID(unchecked: "net.atrarium.community.config")
    public static let membership = NSID(unchecked: "net.atrarium.community.membership")
    public static let approval = NSID(unchecked: "net.atrarium.community.approval")
    public static let moderationAction = NSID(unchecked: "net.atrarium.moderation.action")
    public static let post = NSID(unchecked: "app.bsky.feed.post")
    /// The feed generator record each community publishes in its owner's
    /// repository (`app.bsky.feed.generator/atrarium-<id>`).
    public static let feedGenerator = NSID(unchecked: "app.bsky.feed.generator")

    /// The record key of community `id`'s config as the dashboard writes it:
    /// the id itself (8 hex digits, checked by `CommunityHashtag`).
    public static func configKey(_ id: String) -> RecordKey { RecordKey(unchecked: id) }

    /// The bundled Lexicons (loaded once).
    static let lexicons: LexiconCatalog? = try? LexiconCatalog(jsonDocuments: LexiconFiles.all())

    /// Validates `record` against the Lexicon of `collection`.
    public static func validate(_ record: DataValue, collection: NSID) throws(FeedGenError) {
        guard let lexicons else { throw .invalidRecord("the bundled Lexicons could not be loaded") }
        do {
            guard try lexicons.validateRecord(collection: collection.string, record: record) == .valid else {
                throw FeedGenError.invalidRecord("no Lexicon for \(collection)")
            }
        } catch let error as FeedGenError {
            throw error
        } catch {
            throw .invalidRecord("invalid \(collection) record: \(error)")
        }
    }

    /// Checks the rules of a community config beyond its Lexicon.
    public static func checkConfig(_ record: DataValue) throws(FeedGenError) -> CommunityConfig {
        try validate(record, collection: config)
        guard let hashtag = record["hashtag"]?.stringValue, let id = CommunityHashtag.id(ofHashtag: hashtag) else {
            throw .invalidRecord("hashtag must be '#atrarium_' followed by 8 lowercase hex digits")
        }
        var mix = FeedMix.ownOnly
        if let m = record["feedMix"] {
            mix = FeedMix(
                own: Int(m["own"]?.intValue ?? 0), parent: Int(m["parent"]?.intValue ?? 0), global: Int(m["global"]?.intValue ?? 0))
            guard mix.own + mix.parent + mix.global == 100 else {
                throw .invalidRecord("feedMix percentages must sum to 100 (got \(mix.own + mix.parent + mix.global))")
            }
        }
        return CommunityConfig(
            id: id, name: record["name"]?.stringValue ?? "", description: record["description"]?.stringValue,
            stage: record["stage"]?.stringValue ?? "theme", accessType: record["accessType"]?.stringValue ?? "open",
            parentURI: record["parentCommunity"]?.stringValue, feedMix: mix,
            moderators: dids(record["moderators"]), blocklist: dids(record["blocklist"]),
            createdAt: record["createdAt"]?.stringValue ?? "")
    }

    /// The DIDs of a list field (`moderators`, `blocklist`); the lexicon
    /// makes each a DID, and an entry that is not one is left out.
    private static func dids(_ list: DataValue?) -> [DID] {
        (list?.arrayValue ?? []).compactMap { $0.stringValue.flatMap { try? DID($0) } }
    }
}

/// The fields of a `net.atrarium.community.config` record the index uses.
public struct CommunityConfig: Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var stage: String
    public var accessType: String
    public var parentURI: String?
    public var feedMix: FeedMix
    public var moderators: [DID]
    public var blocklist: [DID]
    public var createdAt: String
}

/// How a community's feed mixes sources, in integer percentages summing to 100.
public struct FeedMix: Sendable, Equatable, Codable {
    public var own: Int
    public var parent: Int
    public var global: Int

    public init(own: Int, parent: Int, global: Int) {
        self.own = own
        self.parent = parent
        self.global = global
    }

    /// Only the community's own posts.
    public static let ownOnly = FeedMix(own: 100, parent: 0, global: 0)
}
