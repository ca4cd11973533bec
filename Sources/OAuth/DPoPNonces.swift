import Crypto
import Foundation
import Synchronization

/// Server-issued DPoP nonces (RFC 9449 §8): an HMAC of the current time
/// step, so any process holding the secret issues and accepts the same
/// nonces without shared state, and a restart keeps them valid.
///
/// A nonce changes every ``step`` seconds (180); the one before and the
/// one after are accepted too, so a client's nonce stays good for three to
/// six minutes and clocks a step apart still agree.
public struct DPoPNonces: Sendable {
    public let step: Int
    /// Raw bytes: swift-crypto's `SymmetricKey` is not `Sendable`.
    private let secret: [UInt8]
    /// The nonces of the last step asked about (the one before, it, the
    /// one after): every DPoP request asks, and three HMACs per request
    /// were a visible share of it.
    private let recent = RecentNonces()

    final class RecentNonces: Sendable {
        let state = Mutex<(counter: Int, nonces: [String])>((-1, []))
    }

    public init(secret: [UInt8], step: Int = 180) {
        self.secret = secret
        self.step = step
    }

    /// The nonce to hand out now (`DPoP-Nonce`).
    public func current(now: Date = Date()) -> String {
        window(now)[1]
    }

    /// Whether `nonce` is this step's, the previous or the next.
    public func accepts(_ nonce: String, now: Date = Date()) -> Bool {
        window(now).contains(nonce)
    }

    /// The previous, the current and the next nonce at `now`.
    private func window(_ now: Date) -> [String] {
        let counter = Int(now.timeIntervalSince1970) / step
        if let known = recent.state.withLock({ $0.counter == counter ? $0.nonces : nil }) { return known }
        let nonces = (counter - 1...counter + 1).map { nonce(counter: $0) }
        recent.state.withLock { $0 = (counter, nonces) }
        return nonces
    }

    private func nonce(counter: Int) -> String {
        var big = UInt64(max(0, counter)).bigEndian
        let message = withUnsafeBytes(of: &big) { Array($0) }
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: secret))
        return Base64URL.encode(Array(mac).prefix(18))
    }
}
