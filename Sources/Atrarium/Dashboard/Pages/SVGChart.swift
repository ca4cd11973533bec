import Foundation

/// Small charts drawn on the server as inline SVG: no chart library, no
/// script, nothing for the browser to download. Each has a `<title>` and a
/// `<desc>` listing every value (what a screen reader reads), and each bar
/// or point a `<title>` of its own (the tooltip). Colours come from
/// presentation attributes, which the pages' CSP (`style-src 'self'`)
/// allows where inline `style` would not be.
enum SVGChart {
    static let width = 320.0, height = 150.0
    static let left = 34.0, right = 8.0, top = 10.0, bottom = 24.0
    static let barColour = "#1f5fbf", lineColour = "#1e6b34", gridColour = "#d5d9e0", textColour = "#4a5263"

    /// One value per labelled slot (a day); nil is no value (drawn as none).
    struct Series {
        let labels: [String]
        let values: [Double?]
        /// How a value is written (`12`, `1.4 s`).
        let format: (Double) -> String
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func number(_ value: Double) -> String { String(format: "%.1f", value) }

    /// The frame: title, description, the y axis's top value and the x labels.
    private static func frame(_ title: String, _ series: Series, maxValue: Double, body: String) -> String {
        let plotWidth = width - left - right
        let desc = zip(series.labels, series.values).map { "\($0): \($1.map(series.format) ?? "–")" }.joined(separator: ", ")
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-label="\(escape(title))">\
            <title>\(escape(title))</title><desc>\(escape(desc))</desc>\
            <line x1="\(left)" y1="\(height - bottom)" x2="\(width - right)" y2="\(height - bottom)" stroke="\(gridColour)"/>\
            <line x1="\(left)" y1="\(top)" x2="\(width - right)" y2="\(top)" stroke="\(gridColour)" stroke-dasharray="3 3"/>\
            <text x="\(left - 4)" y="\(top + 4)" text-anchor="end" font-size="10" fill="\(textColour)">\(escape(series.format(maxValue)))</text>\
            <text x="\(left - 4)" y="\(height - bottom)" text-anchor="end" font-size="10" fill="\(textColour)">0</text>
            """
        let slot = plotWidth / Double(max(series.labels.count, 1))
        for (index, label) in series.labels.enumerated() {
            let x = left + slot * (Double(index) + 0.5)
            svg += "<text x=\"\(number(x))\" y=\"\(height - 8)\" text-anchor=\"middle\" font-size=\"10\" fill=\"\(textColour)\">\(escape(label))</text>"
        }
        return svg + body + "</svg>"
    }

    /// A bar per slot.
    static func bars(_ title: String, _ series: Series) -> String {
        let maxValue = max(series.values.compactMap { $0 }.max() ?? 0, 1)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let slot = plotWidth / Double(max(series.labels.count, 1))
        var body = ""
        for (index, value) in series.values.enumerated() {
            guard let value, value > 0 else { continue }
            let barHeight = plotHeight * value / maxValue
            let x = left + slot * Double(index) + slot * 0.15
            body += """
                <rect x="\(number(x))" y="\(number(height - bottom - barHeight))" width="\(number(slot * 0.7))" height="\(number(barHeight))" \
                fill="\(barColour)"><title>\(escape(series.labels[index])): \(escape(series.format(value)))</title></rect>
                """
        }
        return frame(title, series, maxValue: maxValue, body: body)
    }

    /// A line through the slots' values, with a dot on each.
    static func line(_ title: String, _ series: Series) -> String {
        let maxValue = max(series.values.compactMap { $0 }.max() ?? 0, 1)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let slot = plotWidth / Double(max(series.labels.count, 1))
        var points: [String] = []
        var dots = ""
        for (index, value) in series.values.enumerated() {
            guard let value else { continue }
            let x = left + slot * (Double(index) + 0.5), y = height - bottom - plotHeight * value / maxValue
            points.append("\(number(x)),\(number(y))")
            dots += "<circle cx=\"\(number(x))\" cy=\"\(number(y))\" r=\"3\" fill=\"\(lineColour)\"><title>\(escape(series.labels[index])): \(escape(series.format(value)))</title></circle>"
        }
        let path = points.count > 1 ? "<polyline points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"\(lineColour)\" stroke-width=\"2\"/>" : ""
        return frame(title, series, maxValue: maxValue, body: path + dots)
    }

    /// Horizontal bars, one per named item (the instance's busiest communities).
    static func ranking(_ title: String, _ items: [(name: String, value: Int)]) -> String {
        // Wider than the day charts: it stands alone on the page, and a
        // narrow viewBox scaled to the page's width would blow its text up.
        let width = 560.0
        let rowHeight = 22.0, labelWidth = 180.0
        let chartHeight = Double(items.count) * rowHeight + 8
        let maxValue = Double(max(items.map(\.value).max() ?? 0, 1))
        let barSpace = width - labelWidth - 40
        let desc = items.map { "\($0.name): \($0.value)" }.joined(separator: ", ")
        var svg = """
            <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 \(Int(width)) \(Int(chartHeight))" role="img" aria-label="\(escape(title))">\
            <title>\(escape(title))</title><desc>\(escape(desc))</desc>
            """
        for (index, item) in items.enumerated() {
            let y = 4 + Double(index) * rowHeight
            let name = item.name.count > 28 ? String(item.name.prefix(27)) + "…" : item.name
            let barWidth = max(barSpace * Double(item.value) / maxValue, item.value > 0 ? 2 : 0)
            svg += """
                <text x="\(labelWidth - 6)" y="\(number(y + 14))" text-anchor="end" font-size="11" fill="\(textColour)">\(escape(name))</text>\
                <rect x="\(labelWidth)" y="\(number(y + 3))" width="\(number(barWidth))" height="14" fill="\(barColour)"><title>\(escape(item.name)): \(item.value)</title></rect>\
                <text x="\(number(labelWidth + barWidth + 4))" y="\(number(y + 14))" font-size="11" fill="\(textColour)">\(item.value)</text>
                """
        }
        return svg + "</svg>"
    }
}
