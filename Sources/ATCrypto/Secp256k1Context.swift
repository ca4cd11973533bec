import CSecp256k1

/// The process-wide libsecp256k1 context.
///
/// libsecp256k1 functions only read their context, except
/// `secp256k1_context_randomize`. The context is created and randomized once,
/// before it is published through `shared` (a lazily initialised global, which
/// Swift initialises exactly once under a lock), and is never mutated or
/// destroyed afterwards, so concurrent use from any thread is safe. That is
/// the invariant behind `@unchecked Sendable`.
final class Secp256k1Context: @unchecked Sendable {
    /// The shared, randomized context.
    static let shared = Secp256k1Context()

    /// The `secp256k1_context *`; read-only after initialisation.
    let pointer: OpaquePointer

    private init() {
        guard let context = secp256k1_context_create(UInt32(SECP256K1_CONTEXT_NONE)) else {
            fatalError("libsecp256k1: secp256k1_context_create failed")
        }
        // Blinding for side-channel protection; a failure here means the
        // library is broken, so it is not recoverable.
        var seed = SecureRandom.bytes(32)
        let ok = secp256k1_context_randomize(context, &seed)
        precondition(ok == 1, "libsecp256k1: secp256k1_context_randomize failed")
        pointer = context
    }
}
