import FeedGen
import Foundation
import Testing

@Suite("Feed generator configuration")
struct FeedGenConfigTests {
    @Test func fileThenEnvironmentThenChecks() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("feedgen-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"port": 2583, "feedgen": {"jetstreamURLs": ["wss://js.example/subscribe"], "retentionSeconds": 86400, "batchSize": 50}}"#.utf8)
            .write(to: file)
        let fromFile = try FeedGenConfig.load(file: file.path, environment: [:])
        #expect(fromFile.jetstreamURLs == ["wss://js.example/subscribe"] && fromFile.retentionSeconds == 86_400 && fromFile.batchSize == 50)
        #expect(fromFile.enabled && fromFile.localIngest && fromFile.maxAttempts == 5)

        let overridden = try FeedGenConfig.load(
            file: file.path,
            environment: ["PDS_FEEDGEN_ENABLED": "false", "PDS_FEEDGEN_JETSTREAM": "ws://a/subscribe, ws://b/subscribe", "PDS_FEEDGEN_DID": "did:web:feeds.example"])
        #expect(!overridden.enabled && overridden.jetstreamURLs == ["ws://a/subscribe", "ws://b/subscribe"])
        #expect(overridden.feedGeneratorDID == "did:web:feeds.example" && overridden.batchSize == 50)

        // Defaults without a file: no Jetstream, 7 days, batches of 100.
        let defaults = try FeedGenConfig.load(file: nil, environment: [:])
        #expect(defaults.jetstreamURLs.isEmpty && defaults.retentionSeconds == 604_800 && defaults.batchSize == 100)

        // Jetstream compression: off by default, Jetstream v1's dictionary unless a file is named.
        #expect(!defaults.jetstreamCompression && defaults.jetstreamZstdDictionary == nil)
        #expect(try defaults.jetstreamDictionary().id == 1_612_007_021)
        let dictionaryFile = FileManager.default.temporaryDirectory.appendingPathComponent("feedgen-dict-\(UUID().uuidString).zdict")
        defer { try? FileManager.default.removeItem(at: dictionaryFile) }
        var otherDictionary = try defaults.jetstreamDictionary().bytes
        otherDictionary.replaceSubrange(4..<8, with: [1, 0, 0, 0])
        try Data(otherDictionary).write(to: dictionaryFile)
        try Data(#"{"feedgen": {"jetstreamCompression": true, "jetstreamZstdDictionary": "\#(dictionaryFile.path)"}}"#.utf8).write(to: file)
        let compressed = try FeedGenConfig.load(file: file.path, environment: [:])
        #expect(try compressed.jetstreamCompression && compressed.jetstreamDictionary().id == 1)
        let fromEnvironment = try FeedGenConfig.load(file: nil, environment: ["PDS_FEEDGEN_JETSTREAM_COMPRESS": "true"])
        #expect(fromEnvironment.jetstreamCompression)

        for (name, value) in [
            ("PDS_FEEDGEN_JETSTREAM_ZSTD_DICTIONARY", "/nonexistent/dictionary"), ("PDS_FEEDGEN_JETSTREAM_ZSTD_DICTIONARY", file.path),
            ("PDS_FEEDGEN_BATCH_SIZE", "0"), ("PDS_FEEDGEN_RETENTION", "five"), ("PDS_FEEDGEN_JETSTREAM", "https://not-a-websocket"),
            ("PDS_FEEDGEN_MAX_ATTEMPTS", "0"),
        ] {
            #expect(throws: FeedGenError.self, "\(name)=\(value)") { try FeedGenConfig.load(file: nil, environment: [name: value]) }
        }
    }
}
