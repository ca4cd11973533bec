import ATProto
import Foundation
import Repo
import ServiceStorage

/// The requester's own records an AppView has not seen yet (written after
/// the `atproto-repo-rev` it answered with), as read-after-write patches
/// them into its answers: the profile and new posts. At most 10 records
/// are read, as the reference PDS does: more than that and the AppView is
/// far behind, not a moment.
struct LocalRecords: Sendable {
    /// A post of the requester's.
    struct Post: Sendable {
        let uri: String
        let cid: CID
        let indexedAt: String
        let record: DataMap
    }

    /// The `app.bsky.actor.profile/self` record, when it changed.
    var profile: DataMap?
    /// New posts, oldest first.
    var posts: [Post] = []
    /// Every record read (other collections too).
    var count = 0
    /// When the oldest of them was stored here.
    var oldest: Date?

    static let limit = 10

    /// The records of `did` written after `rev`.
    static func since(_ rev: String, did: DID, in tx: some StoreReading) throws -> LocalRecords {
        var local = LocalRecords()
        for change in try RecordIndex.changed(did: did, after: rev, limit: limit, db: tx.db) {
            local.count += 1
            if let date = try? ATDatetime(change.indexedAt).date { local.oldest = min(local.oldest ?? date, date) }
            // A record that does not decode is left out, not a failed answer.
            guard let bytes = change.bytes, case .map(let record)? = try? DAGCBOR.decode(bytes) else { continue }
            switch change.collection.string {
            case "app.bsky.actor.profile" where change.rkey.string == "self":
                local.profile = record
            case "app.bsky.feed.post":
                local.posts.append(
                    Post(uri: "at://\(did.string)/app.bsky.feed.post/\(change.rkey.string)", cid: change.cid, indexedAt: change.indexedAt, record: record))
            default:
                break
            }
        }
        return local
    }

    /// Milliseconds since the oldest record was stored: how far the
    /// AppView's answer lags (`Atproto-Upstream-Lag`).
    func lagMilliseconds(now: Date = Date()) -> Int {
        guard let oldest else { return 0 }
        return max(0, Int(now.timeIntervalSince(oldest) * 1000))
    }
}
