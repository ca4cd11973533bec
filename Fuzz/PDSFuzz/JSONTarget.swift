import ATProto

extension FuzzTargets {
    /// The atproto JSON parser (every XRPC body, DID documents, Jetstream).
    /// What it accepts must survive both encodings: JSON out and in again,
    /// and DAG-CBOR out and in again, give the same value; the lenient mode
    /// accepts whatever the strict mode does, with the same value.
    static let json = FuzzTarget(name: "json", summary: "atproto JSON, checked against its JSON and DAG-CBOR encodings") { bytes in
        let lenient = try? ATProtoJSON.decode(bytes, mode: .lenient)
        guard let value = try? ATProtoJSON.decode(bytes) else { return }
        precondition(lenient == value, "the lenient mode reads a strict input differently")
        let json = ATProtoJSON.encode(value)
        guard let reread = try? ATProtoJSON.decode(json) else {
            preconditionFailure("the JSON encoding of a decoded value does not decode: \(String(decoding: json, as: UTF8.self))")
        }
        precondition(reread == value, "JSON out and in again changes the value")
        let cbor = DAGCBOR.encode(value)
        guard let decoded = try? DAGCBOR.decode(cbor) else {
            preconditionFailure("the DAG-CBOR encoding of a decoded value does not decode")
        }
        precondition(decoded == value, "DAG-CBOR out and in again changes the value")
    }
}
