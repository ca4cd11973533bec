/// Cryptographically secure random bytes.
///
/// `SystemRandomNumberGenerator` is documented as cryptographically secure on
/// every platform (`getrandom`/`/dev/urandom` on Linux, `arc4random` on Apple
/// platforms).
enum SecureRandom {
    /// `count` random bytes.
    static func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var out = [UInt8](repeating: 0, count: count)
        var i = 0
        while i < count {
            var word = generator.next()
            for _ in 0..<8 where i < count {
                out[i] = UInt8(truncatingIfNeeded: word)
                word >>= 8
                i += 1
            }
        }
        return out
    }
}
