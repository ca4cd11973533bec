import CSodium
import Foundation

/// Password and app-password hashing with libsodium's Argon2id
/// (`crypto_pwhash_str`, memory-hard, salted, self-describing strings).
public enum PasswordHasher {
    /// How much work a hash costs.
    public enum Strength: Sendable {
        /// libsodium's interactive limits (64 MiB, 2 passes): for logins.
        case interactive
        /// Small limits for tests only (8 MiB, 1 pass).
        case testing

        var limits: (ops: UInt64, mem: Int) {
            switch self {
            case .interactive: return (UInt64(crypto_pwhash_OPSLIMIT_INTERACTIVE), Int(crypto_pwhash_MEMLIMIT_INTERACTIVE))
            case .testing: return (1, 8 * 1024 * 1024)
            }
        }
    }

    /// Errors from hashing.
    public enum HashError: Error, CustomStringConvertible {
        case libsodiumUnavailable
        case hashFailed
        public var description: String {
            switch self {
            case .libsodiumUnavailable: return "libsodium could not be initialised"
            case .hashFailed: return "password hashing failed (out of memory?)"
            }
        }
    }

    private static let ready: Bool = sodium_init() >= 0

    /// Hashes a password into an `$argon2id$…` string.
    public static func hash(_ password: String, strength: Strength = .interactive) throws -> String {
        guard ready else { throw HashError.libsodiumUnavailable }
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        // NUL-terminated, so never empty; the length passed excludes the NUL.
        let chars = Array(password.utf8CString)
        let (ops, mem) = strength.limits
        let result = crypto_pwhash_str(&out, chars, UInt64(chars.count - 1), ops, mem)
        guard result == 0 else { throw HashError.hashFailed }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Does the work of one verification against a hash no password has, so
    /// that refusing an unknown identifier takes as long as refusing a wrong
    /// password (55 ms against 1 ms told which emails and handles exist).
    public static func verifyAgainstNothing(_ password: String, strength: Strength, counting counter: SharedCounter? = nil) {
        let standIn = strength == .interactive ? interactiveStandIn : testingStandIn
        _ = verify(password, hash: standIn ?? "", counting: counter)
    }

    /// Hashes of a random password, one per strength, made on first use.
    private static let interactiveStandIn = try? hash(SecureStandIn.password, strength: .interactive)
    private static let testingStandIn = try? hash(SecureStandIn.password, strength: .testing)
    private enum SecureStandIn {
        static let password = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 36) }.joined()
    }

    /// Whether `password` matches `hash`. Runs in time independent of where
    /// the strings differ. `counter`, when given, counts the verification
    /// (how the tests see that an unknown identifier costs one too).
    public static func verify(_ password: String, hash: String, counting counter: SharedCounter? = nil) -> Bool {
        guard ready else { return false }
        let chars = Array(password.utf8CString)
        let stored = Array(hash.utf8CString)
        counter?.add(1)
        return crypto_pwhash_str_verify(stored, chars, UInt64(chars.count - 1)) == 0
    }
}
