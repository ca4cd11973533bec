/// One fuzz target: a parser of untrusted bytes and the properties every
/// input must keep. `check` returns normally for any input the parser
/// refuses or accepts correctly, and traps (`precondition`) when a property
/// fails; libFuzzer reports the trap, AddressSanitizer any memory error.
struct FuzzTarget: Sendable {
    /// The name `scripts/fuzz` takes; also the corpus folder's name.
    let name: String
    /// What the target feeds its input to.
    let summary: String
    /// Builds what every input shares (a schema catalog, a key, a
    /// dictionary) before the first input, outside LeakSanitizer's view:
    /// such values live for the whole run, and LSan cannot follow the
    /// tagged pointers Swift keeps in enum payloads, so it would report
    /// them once as leaked.
    var prepare: @Sendable () -> Void = {}
    let check: @Sendable (UnsafeRawBufferPointer) -> Void
}

/// Every target, and the one this process runs.
enum FuzzTargets {
    static let all: [FuzzTarget] = [
        dagCBOR, car, json, lexicon, jwt, jetstream, httpBody,
    ]

    /// Set once by main before libFuzzer starts; libFuzzer's callback is a
    /// C function pointer and cannot capture it.
    nonisolated(unsafe) static var selected = all[0]
}
