import Foundation
import Synchronization

/// The open connections, counted per client address and in all, so that
/// one client cannot take the whole file table.
public final class ConnectionRegistry: Sendable {
    /// Why a new connection was turned away.
    public enum Refusal: Sendable, Equatable {
        case tooManyFromAddress
        case tooMany
    }

    private struct State {
        var total = 0
        var byAddress: [String: Int] = [:]
    }

    private let state = Mutex(State())
    public let maxPerAddress: Int?
    public let maxTotal: Int

    public init(maxPerAddress: Int?, maxTotal: Int) {
        self.maxPerAddress = maxPerAddress
        self.maxTotal = maxTotal
    }

    /// Counts a new connection from `address`, or says why it may not open.
    public func admit(_ address: String) -> Refusal? {
        state.withLock { state in
            if state.total >= maxTotal { return .tooMany }
            let fromAddress = state.byAddress[address, default: 0]
            if let maxPerAddress, fromAddress >= maxPerAddress { return .tooManyFromAddress }
            state.total += 1
            state.byAddress[address] = fromAddress + 1
            return nil
        }
    }

    /// Forgets a connection ``admit(_:)`` counted.
    public func release(_ address: String) {
        state.withLock { state in
            state.total -= 1
            let left = state.byAddress[address, default: 1] - 1
            state.byAddress[address] = left > 0 ? left : nil
        }
    }

    /// Connections open now, in all and from `address`.
    public func open(from address: String? = nil) -> Int {
        state.withLock { state in address.map { state.byAddress[$0, default: 0] } ?? state.total }
    }
}

/// The process's limit on open files (`RLIMIT_NOFILE`).
public enum FileDescriptorLimit {
    /// Raises the soft limit to the hard one (Debian's default soft limit is
    /// 1,024, its hard limit 524,288 or more) and returns the limit now in
    /// force.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return Int(clamping: limit.rlim_cur)
    }
}
