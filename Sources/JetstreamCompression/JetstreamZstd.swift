import Foundation

/// Jetstream v1's optional compression: a consumer that connects to
/// `/subscribe` with `compress=true` (or the header `Socket-Encoding: zstd`)
/// receives binary WebSocket messages, each one zstd frame of the JSON
/// event compressed with a dictionary trained on the network's events
/// (ID 1612007021, shipped here as `jetstream-v1.zdict` under Jetstream's
/// MIT/Apache-2.0 licence). Both ends must hold the same dictionary.
public enum JetstreamZstd {
    /// The ID of Jetstream v1's dictionary.
    public static let dictionaryID: UInt32 = 1_612_007_021

    /// Jetstream v1's dictionary, digested once.
    public static let dictionary: ZstdDictionary = {
        guard let url = Bundle.module.url(forResource: "jetstream-v1", withExtension: "zdict"),
            let data = try? Data(contentsOf: url)
        else { fatalError("the bundled Jetstream zstd dictionary (jetstream-v1.zdict) is missing from the build") }
        do {
            return try ZstdDictionary([UInt8](data))
        } catch {
            fatalError("the bundled Jetstream zstd dictionary is damaged: \(error)")
        }
    }()

    /// A dictionary read from a file (for a Jetstream instance that
    /// compresses with another one).
    public static func dictionary(file path: String) throws -> ZstdDictionary {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ZstdError.notADictionary("cannot read \(path): \(error.localizedDescription)")
        }
        return try ZstdDictionary([UInt8](data))
    }
}
