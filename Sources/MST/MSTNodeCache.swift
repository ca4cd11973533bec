import ATProto
import Synchronization

/// Decoded MST nodes and their bytes by CID, kept across commits: a commit
/// rewrites the path from the root to the key it writes, and the next
/// commit to the same repository starts from exactly those nodes. Keeping
/// them (as ``MSTNodeMemo`` does within one commit) saves reading and
/// decoding the path again. Other blocks read by CID next to the tree
/// (a repository's commit) may be kept too, as bytes only.
///
/// Nodes are content-addressed, so an entry can never be stale; the cache
/// only bounds its memory. It keeps two generations: lookups promote an
/// entry of the older one, and when the newer one is full the older one is
/// dropped (an approximate least-recently-used order at the cost of two
/// dictionary operations). Thread-safe.
public final class MSTNodeCache: Sendable {
    struct Entry {
        /// Nil for a block that is not a node.
        let node: MSTNode?
        let bytes: [UInt8]
        /// An estimate of the memory the entry holds, in bytes.
        var cost: Int { bytes.count * 4 + 256 }
    }

    private struct Generations {
        var current: [CID: Entry] = [:]
        var currentCost = 0
        var previous: [CID: Entry] = [:]
    }

    /// The estimated memory one generation may hold, in bytes.
    let generationBudget: Int
    private let state = Mutex(Generations())

    /// A cache holding about `maxBytes` of nodes (estimated: decoded nodes
    /// take a few times their encoded size).
    public init(maxBytes: Int) {
        generationBudget = max(1, maxBytes / 2)
    }

    /// How many blocks are kept (nodes and others).
    public var count: Int { state.withLock { $0.current.count + $0.previous.count } }

    func entry(_ cid: CID) -> Entry? {
        state.withLock { s in
            if let entry = s.current[cid] { return entry }
            guard let entry = s.previous.removeValue(forKey: cid) else { return nil }
            Self.add(entry, cid: cid, to: &s, budget: generationBudget)
            return entry
        }
    }

    /// The bytes of a kept block.
    public func bytes(_ cid: CID) -> [UInt8]? { entry(cid)?.bytes }

    /// Keeps a block that is not an MST node (such as a commit), whose
    /// bytes the caller guarantees match `cid`.
    public func keep(_ cid: CID, bytes: [UInt8]) {
        insert(cid, node: nil, bytes: bytes)
    }

    func insert(_ cid: CID, node: MSTNode?, bytes: [UInt8]) {
        let entry = Entry(node: node, bytes: bytes)
        guard entry.cost <= generationBudget else { return }
        state.withLock { s in
            if s.current[cid] != nil { return }
            s.previous[cid] = nil
            Self.add(entry, cid: cid, to: &s, budget: generationBudget)
        }
    }

    private static func add(_ entry: Entry, cid: CID, to s: inout Generations, budget: Int) {
        if s.currentCost + entry.cost > budget {
            s.previous = s.current
            s.current = [:]
            s.currentCost = 0
        }
        s.current[cid] = entry
        s.currentCost += entry.cost
    }
}
