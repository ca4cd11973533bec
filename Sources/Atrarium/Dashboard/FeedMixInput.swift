import FeedGen

/// Reads a `feedMix` given to the dashboard API either as integer
/// percentages summing to 100 or as fractions summing to 1 (converted to
/// percentages by largest remainder, so they still sum to 100).
enum FeedMixInput {
    static func parse(_ body: DashboardBody) throws(DashboardError) -> FeedMix {
        var parts: [Double] = []
        for key in ["own", "parent", "global"] {
            let value = try body.number(key) ?? 0
            guard value >= 0 else { throw .badRequest("feedMix.\(key) must not be negative") }
            parts.append(value)
        }
        for key in body.fields.keys where !["own", "parent", "global"].contains(key) {
            throw .badRequest("feedMix has an unknown field \(key)")
        }
        let sum = parts.reduce(0, +)
        if abs(sum - 100) < 1e-9 {
            guard parts.allSatisfy({ $0 == $0.rounded() }) else {
                throw .badRequest("feedMix percentages must be integers (or give fractions summing to 1)")
            }
            return FeedMix(own: Int(parts[0]), parent: Int(parts[1]), global: Int(parts[2]))
        }
        guard abs(sum - 1) < 1e-6 else {
            throw .badRequest("feedMix must be integer percentages summing to 100 or fractions summing to 1 (got a sum of \(sum))")
        }
        let scaled = parts.map { $0 / sum * 100 }
        var whole = scaled.map { Int($0.rounded(.down)) }
        // Give the missing points to the largest remainders.
        let order = scaled.indices.sorted { scaled[$0] - Double(whole[$0]) > scaled[$1] - Double(whole[$1]) }
        for i in order.prefix(100 - whole.reduce(0, +)) { whole[i] += 1 }
        return FeedMix(own: whole[0], parent: whole[1], global: whole[2])
    }
}
