/// Why a zstd dictionary, compression or decompression failed.
public enum ZstdError: Error, Equatable, CustomStringConvertible {
    /// The bytes are not a structured zstd dictionary (RFC 8878 §5).
    case notADictionary(String)
    /// The message is not a complete, valid zstd frame.
    case malformedFrame(String)
    /// The frame was compressed with another dictionary than the one held.
    case otherDictionary(frame: UInt32, held: UInt32)
    /// The message would decompress to more than the allowed size.
    case tooLarge(limit: Int)

    public var description: String {
        switch self {
        case .notADictionary(let why): "not a zstd dictionary: \(why)"
        case .malformedFrame(let why): "not a valid zstd message: \(why)"
        case .otherDictionary(let frame, let held):
            "zstd message compressed with dictionary \(frame), not with the dictionary \(held) this side holds"
        case .tooLarge(let limit): "zstd message decompresses to more than \(limit) bytes"
        }
    }
}
