import ATProto
import Foundation
import Repo
import Sequencer
import ServiceStorage

extension SequencerEvent {
    /// The `#sync` event of the repository `did` as stored now (after an
    /// import replaced it), or nil when there is none. Here rather than in
    /// `Sequencer`, which builds events from what it is given and does not
    /// read the repository's tables.
    static func syncOfStoredRepository(did: DID, in tx: some StoreReading, time: Date = Date()) throws -> SequencerEvent? {
        guard let repo = try RepoStorage.repository(did: did, in: tx) else { return nil }
        return .sync(did: did, commitCID: repo.commitCID, commitBytes: repo.commit.bytes, rev: repo.commit.rev, time: time)
    }
}
