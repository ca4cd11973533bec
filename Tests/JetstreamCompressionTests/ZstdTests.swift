import CZstd
import Foundation
import JetstreamCompression
import Testing

/// zstd with Jetstream's dictionary: frames round-trip, carry the
/// dictionary's ID and their size, and every kind of bad message (empty,
/// garbage, cut short, another dictionary's, a decompression bomb with or
/// without a declared size) is refused with its reason.
@Suite("zstd with Jetstream's dictionary")
struct ZstdTests {
    let dictionary = JetstreamZstd.dictionary
    let event = Array(
        #"{"did":"did:plc:eygmaihciaxprqvxpfvl6flk","time_us":1725911162329308,"kind":"commit","commit":{"rev":"3l3qo2vutsw2b","operation":"create","collection":"app.bsky.feed.like","rkey":"3l3qo2vuowo2b","record":{"$type":"app.bsky.feed.like","createdAt":"2024-09-09T19:46:02.102Z","subject":{"cid":"bafyreidc6sydkkbchcyg62v77wbhzvb2mvytlmsychqgwf2xojjtirmzj4","uri":"at://did:plc:wa7b35aakoll7hugkrjtf3xf/app.bsky.feed.post/3l3pte3p2e325"}},"cid":"bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi"}}"#
            .utf8)

    @Test func theBundledDictionaryIsJetstreamsV1() {
        #expect(dictionary.id == JetstreamZstd.dictionaryID)
        #expect(dictionary.bytes.count == 112_640)
    }

    @Test func framesRoundTripAndNameTheirDictionaryAndSize() throws {
        let compressor = ZstdCompressor(dictionary: dictionary)
        let decompressor = ZstdDecompressor(dictionary: dictionary)
        let frame = compressor.compress(event)
        // The dictionary knows these events: the frame is much smaller.
        #expect(frame.count * 2 < event.count, "\(frame.count) of \(event.count) bytes")
        frame.withUnsafeBytes { raw in
            #expect(ZSTD_getDictID_fromFrame(raw.baseAddress, raw.count) == JetstreamZstd.dictionaryID)
            #expect(ZSTD_getFrameContentSize(raw.baseAddress, raw.count) == UInt64(event.count))
        }
        #expect(try decompressor.decompress(frame, limit: event.count) == event)
        // Several frames back to back are one message each.
        #expect(try decompressor.decompress(frame + frame, limit: 2 * event.count) == event + event)
        #expect(try decompressor.decompress(compressor.compress([UInt8]()), limit: 10) == [])
    }

    @Test func badMessagesAreRefusedWithTheirReason() throws {
        let compressor = ZstdCompressor(dictionary: dictionary)
        let decompressor = ZstdDecompressor(dictionary: dictionary)
        let frame = compressor.compress(event)
        func refusal(_ bytes: [UInt8], limit: Int = 1 << 20) -> ZstdError? {
            do {
                _ = try decompressor.decompress(bytes, limit: limit)
                return nil
            } catch {
                return error
            }
        }
        #expect(refusal([]) == .malformedFrame("the message is empty"))
        #expect(refusal(Array("{\"kind\":\"commit\"}".utf8)) == .malformedFrame("it does not start with a zstd frame header"))
        guard case .malformedFrame = refusal(Array(frame.dropLast(5))) else {
            Issue.record("a frame cut short was not refused as malformed")
            return
        }
        // Larger than the limit, by the frame's declared size.
        #expect(refusal(frame, limit: event.count - 1) == .tooLarge(limit: event.count - 1))

        // Another dictionary (the same contents under another ID).
        var otherBytes = dictionary.bytes
        otherBytes[4] ^= 0x01
        let other = try ZstdDictionary(otherBytes)
        let foreign = ZstdCompressor(dictionary: other).compress(event)
        #expect(refusal(foreign) == .otherDictionary(frame: other.id, held: dictionary.id))
    }

    /// 64 MiB of zeros streamed into a frame that does not declare its size
    /// (a few KiB on the wire): refused once the output passes the limit.
    @Test func aBombWithoutADeclaredSizeIsStoppedAtTheLimit() throws {
        let frame = Self.streamedFrame(of: [UInt8](repeating: 0, count: 64 << 20))
        #expect(frame.count < 64 << 10)
        frame.withUnsafeBytes { raw in
            #expect(ZSTD_getFrameContentSize(raw.baseAddress, raw.count) == UInt64.max)  // unknown
        }
        let decompressor = ZstdDecompressor(dictionary: dictionary)
        #expect(throws: ZstdError.tooLarge(limit: 1 << 20)) { try decompressor.decompress(frame, limit: 1 << 20) }
        // And the same stream within its limit decompresses whole.
        let small = Self.streamedFrame(of: event)
        #expect(try decompressor.decompress(small, limit: event.count) == event)
    }

    @Test func dictionariesAreChecked() {
        #expect(throws: ZstdError.notADictionary("4 bytes is too short for a dictionary header")) { try ZstdDictionary([1, 2, 3, 4]) }
        #expect(throws: ZstdError.notADictionary("it does not start with the dictionary magic number")) {
            try ZstdDictionary([UInt8](repeating: 7, count: 64))
        }
        var zeroID = dictionary.bytes
        zeroID.replaceSubrange(4..<8, with: [0, 0, 0, 0])
        #expect(throws: ZstdError.notADictionary("dictionary ID 0 is reserved")) { try ZstdDictionary(zeroID) }
        #expect(throws: ZstdError.self) { try JetstreamZstd.dictionary(file: "/nonexistent/jetstream.zdict") }
    }

    @Test func oneCompressorAndDecompressorServeManyTasksAtOnce() async throws {
        let compressor = ZstdCompressor(dictionary: dictionary)
        let decompressor = ZstdDecompressor(dictionary: dictionary)
        let event = event
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for n in 0..<64 {
                group.addTask {
                    let message = event + Array(repeating: UInt8(ascii: " "), count: n)
                    return try decompressor.decompress(compressor.compress(message), limit: 1 << 16) == message
                }
            }
            for try await same in group { #expect(same) }
        }
    }

    /// `bytes` as one frame written by zstd's streaming API, fed before the
    /// end is announced, so the frame does not record its size.
    static func streamedFrame(of bytes: [UInt8]) -> [UInt8] {
        let cctx = ZSTD_createCCtx()
        defer { ZSTD_freeCCtx(cctx) }
        var output = [UInt8](repeating: 0, count: ZSTD_compressBound(bytes.count))
        let written = bytes.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { out in
                var inBuffer = ZSTD_inBuffer(src: source.baseAddress, size: source.count, pos: 0)
                var outBuffer = ZSTD_outBuffer(dst: out.baseAddress, size: out.count, pos: 0)
                // Input given before the end is announced: the size stays unknown.
                while inBuffer.pos < inBuffer.size { _ = ZSTD_compressStream2(cctx, &outBuffer, &inBuffer, ZSTD_e_continue) }
                while ZSTD_compressStream2(cctx, &outBuffer, &inBuffer, ZSTD_e_end) != 0 {}
                return outBuffer.pos
            }
        }
        return Array(output.prefix(written))
    }
}
