import Foundation

/// One row of `pds bench soak`: the server process and its data directory
/// at a moment, and the load's figures since the previous row.
struct SoakSample {
    let minute: Double
    let residentMB: Double
    let fileDescriptors: Int
    let threads: Int
    let walMB: Double
    let databaseMB: Double
    let blobsMB: Double
    let cpuShare: Double
    let writesPerSecond: Double
    let readsPerSecond: Double
    let blobsPerSecond: Double
    let writeP99: Double
    let readP99: Double
    let errors: Int
    let firehoseRate: Double
    let consumers: Int

    init(
        minute: Double, interval: SoakLoad.Interval, seconds: Double, server: BenchServer, cpuShare: Double,
        firehoseRate: Double, consumers: Int
    ) {
        self.minute = minute
        residentMB = server.residentMB()
        let pid = server.process.processIdentifier
        fileDescriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
        threads = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? 0
        let files = Self.sizes(of: server.dataDirectory)
        walMB = files.wal
        databaseMB = files.database
        blobsMB = files.other
        self.cpuShare = cpuShare
        writesPerSecond = Double(interval.writes) / seconds
        readsPerSecond = Double(interval.reads) / seconds
        blobsPerSecond = Double(interval.blobs) / seconds
        writeP99 = Self.p99(interval.writeLatencies)
        readP99 = Self.p99(interval.readLatencies)
        errors = interval.errors
        self.firehoseRate = firehoseRate
        self.consumers = consumers
    }

    static func p99(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.99))]
    }

    /// MB in write-ahead logs, in databases, and in everything else (blobs).
    static func sizes(of directory: URL) -> (wal: Double, database: Double, other: Double) {
        var wal = 0, database = 0, other = 0
        let walker = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: [.fileSizeKey, .isRegularFileKey])
        while let url = walker?.nextObject() as? URL {
            guard let values = try? url.resourceValues(forKeys: [.fileSizeKey, .isRegularFileKey]), values.isRegularFile == true else { continue }
            let size = values.fileSize ?? 0
            if url.lastPathComponent.hasSuffix("-wal") {
                wal += size
            } else if url.lastPathComponent.hasSuffix(".sqlite") || url.lastPathComponent.hasSuffix("-shm") {
                database += size
            } else {
                other += size
            }
        }
        return (Double(wal) / 1e6, Double(database) / 1e6, Double(other) / 1e6)
    }

    static let columns = [
        "min", "RSS MB", "fds", "threads", "WAL MB", "DB MB", "blobs MB", "CPU %", "writes/s", "reads/s", "blobs/s",
        "write p99 ms", "read p99 ms", "errors", "firehose frames/s", "consumers",
    ]

    static func printHeader() {
        Bench.say(columns.joined(separator: " | "))
    }

    func printRow() {
        let cells = [
            Bench.format(minute), Bench.format(residentMB), String(fileDescriptors), String(threads), Bench.format(walMB),
            Bench.format(databaseMB), Bench.format(blobsMB), Bench.format(cpuShare * 100), Bench.format(writesPerSecond),
            Bench.format(readsPerSecond), Bench.format(blobsPerSecond), Bench.format(writeP99), Bench.format(readP99),
            String(errors), Bench.format(firehoseRate), String(consumers),
        ]
        Bench.say(cells.joined(separator: " | "))
    }

    /// For each figure that must level off: its highest value in the first
    /// two thirds of the run, in the last third, and the growth between.
    static func printGrowth(_ samples: [SoakSample]) {
        guard samples.count >= 3 else {
            Bench.say("growth: too few samples (\(samples.count)) to compare the last third with the rest")
            return
        }
        let split = samples.count * 2 / 3
        let early = samples[..<split], late = samples[split...]
        Bench.say("growth: highest in the first two thirds -> highest in the last third")
        func line(_ name: String, _ value: (SoakSample) -> Double) {
            let before = early.map(value).max() ?? 0, after = late.map(value).max() ?? 0
            let percent = before > 0 ? (after - before) / before * 100 : 0
            Bench.say("  \(name): \(Bench.format(before)) -> \(Bench.format(after)) (\(percent >= 0 ? "+" : "")\(Bench.format(percent))%)")
        }
        line("RSS MB", \.residentMB)
        line("file descriptors") { Double($0.fileDescriptors) }
        line("threads") { Double($0.threads) }
        line("WAL MB", \.walMB)
        line("database MB", \.databaseMB)
        line("blobs MB", \.blobsMB)
        line("write p99 ms", \.writeP99)
        line("read p99 ms", \.readP99)
        Bench.say("  errors: \(samples.reduce(0) { $0 + $1.errors }) in all")
    }
}
