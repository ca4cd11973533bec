import ATProto

extension FuzzTargets {
    /// The DAG-CBOR decoder (firehose frames, CAR blocks, records). It is
    /// strict, so anything it accepts is the one canonical encoding of its
    /// value: encoding the value again must give back the input exactly.
    static let dagCBOR = FuzzTarget(name: "dagcbor", summary: "DAG-CBOR decoding, checked by re-encoding") { bytes in
        if let (value, length) = try? DAGCBOR.decodePrefix(bytes) {
            precondition(length > 0 && length <= bytes.count, "decodePrefix took \(length) of \(bytes.count) bytes")
            let again = DAGCBOR.encode(value)
            precondition(again.elementsEqual(bytes.prefix(length)), "a decoded value re-encodes to other bytes")
            let whole = try? DAGCBOR.decode(bytes)
            precondition((whole != nil) == (length == bytes.count), "decode and decodePrefix disagree")
            if let whole { precondition(whole == value, "decode and decodePrefix give different values") }
        } else {
            precondition((try? DAGCBOR.decode(bytes)) == nil, "decode accepts what decodePrefix refuses")
        }
    }
}
