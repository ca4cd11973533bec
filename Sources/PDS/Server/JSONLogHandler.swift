import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// A swift-log handler writing one JSON object per line to standard error:
/// `{"ts", "level", "label", "msg", …metadata}` (the request id is the
/// `hb.request.id` metadata Hummingbird attaches, written as `request_id`).
/// It runs on every request, so it formats by hand rather than through
/// `JSONSerialization` and `ISO8601DateFormatter`.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    /// - Parameter level: the lowest level written; by default from
    ///   `PDS_LOG_LEVEL` (trace, debug, info, notice, warning, error), else info.
    public init(label: String, level: Logger.Level? = nil) {
        self.label = label
        self.logLevel = level ?? ProcessInfo.processInfo.environment["PDS_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\"" + JSONLogHandler.timestamp() + "\",\"level\":\"" + event.level.rawValue + "\",\"label\":"
        JSONLogHandler.appendString(label, to: &line)
        line += ",\"msg\":"
        JSONLogHandler.appendString(event.message.description, to: &line)
        let all = event.metadata.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        for (key, value) in all.sorted(by: { $0.key < $1.key }) {
            line += ","
            JSONLogHandler.appendString(key == "hb.request.id" ? "request_id" : key, to: &line)
            line += ":"
            JSONLogHandler.appendString(value.description, to: &line)
        }
        line += "}\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// `2026-11-23T10:15:30.123Z`.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
            parts.tm_hour, parts.tm_min, parts.tm_sec, now.tv_nsec / 1_000_000)
    }

    /// Appends `value` as a JSON string literal.
    static func appendString(_ value: String, to out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
