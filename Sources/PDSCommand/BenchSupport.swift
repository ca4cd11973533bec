import ATProto
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Timing and reporting helpers shared by the `pds bench` subcommands.
enum Bench {
    /// Runs `body` and returns the seconds it took.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        seconds(try ContinuousClock().measure(body))
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Repeats `body` until at least `minimum` seconds have passed.
    /// - Returns: iterations and seconds.
    static func repeatFor(_ minimum: Double = 1.0, batch: Int = 100, _ body: () throws -> Void) rethrows
        -> (iterations: Int, seconds: Double)
    {
        var iterations = 0
        var seconds = 0.0
        while seconds < minimum {
            seconds += try time {
                for _ in 0..<batch { try body() }
            }
            iterations += batch
        }
        return (iterations, seconds)
    }

    /// Prints one figure with its target and the ratio to it.
    static func report(_ name: String, _ value: Double, unit: String, target: Double? = nil, lowerIsBetter: Bool = false) {
        var line = "\(name.padding(toLength: 44, withPad: " ", startingAt: 0)) \(format(value)) \(unit)"
        if let target {
            let ratio = lowerIsBetter ? target / value : value / target
            let met = ratio >= 1 ? "met" : "MISSED"
            line += "   (target \(lowerIsBetter ? "<" : "≥") \(format(target)) \(unit): \(String(format: "%.2f", ratio))x, \(met))"
        }
        say(line)
    }

    /// Writes a line to standard output at once (not buffered), so progress
    /// shows even when the output is a pipe.
    /// CPU seconds (user + system) this process has used so far.
    static func processCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }

    static func format(_ v: Double) -> String {
        if v >= 100 { return String(format: "%.0f", v) }
        if v >= 10 { return String(format: "%.1f", v) }
        return String(format: "%.3f", v)
    }

    static func header(_ title: String) {
        say("== \(title) (\(ProcessInfo.processInfo.activeProcessorCount) cores, one thread unless noted)")
    }

    /// A realistic `app.bsky.feed.post`: text with a hashtag facet and a
    /// mention, languages, a reply, and an image embed with a blob.
    static func samplePost(_ n: Int = 0, withImage: Bool = true) -> DataValue {
        let blob = CID.compute(Array("image \(n)".utf8), codec: .raw)
        let parent = CID.compute(Array("parent \(n)".utf8))
        let text = "Morning walk by the river, the herons are back! Join us in #atrarium_1a2b3c4d "
            + "and say hi to @alice.example.com — post number \(n)"
        let textBytes = Int64(text.utf8.count)
        let tagStart = Int64(text.utf8.distance(from: text.utf8.startIndex, to: text.range(of: "#atrarium")!.lowerBound.samePosition(in: text.utf8)!))
        var post: DataValue = [
            "$type": "app.bsky.feed.post",
            "text": .string(text),
            "createdAt": "2026-11-23T10:15:30.123Z",
            "langs": ["en"],
            "facets": [
                [
                    "index": ["byteStart": .int(tagStart), "byteEnd": .int(tagStart + 18)],
                    "features": [["$type": "app.bsky.richtext.facet#tag", "tag": "atrarium_1a2b3c4d"]],
                ],
                [
                    "index": ["byteStart": .int(textBytes - 40), "byteEnd": .int(textBytes - 22)],
                    "features": [["$type": "app.bsky.richtext.facet#mention", "did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz"]],
                ],
            ],
            "reply": [
                "root": ["uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l6oveex3ii2l", "cid": .string(parent.string)],
                "parent": ["uri": "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l6oveex3ii2l", "cid": .string(parent.string)],
            ],
            "embed": [
                "$type": "app.bsky.embed.images",
                "images": [
                    [
                        "alt": "Two grey herons standing in shallow water at sunrise",
                        "image": ["$type": "blob", "ref": .link(blob), "mimeType": "image/jpeg", "size": 482_113],
                        "aspectRatio": ["width": 2000, "height": 1500],
                    ]
                ],
            ],
        ]
        if !withImage, case .map(var map) = post {
            map["embed"] = nil
            post = .map(map)
        }
        return post
    }
}
