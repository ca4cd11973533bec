import Foundation

/// A datetime in the atproto `datetime` string format, with the instant it
/// names.
///
/// Syntax (the intersection of RFC 3339 and ISO 8601 that atproto allows):
///
/// ```
/// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
/// ```
///
/// - exactly four year digits and two digits for every other field;
/// - an upper-case `T` and `Z`; the timezone is required;
/// - any number (≥ 1) of fraction digits;
/// - `-00:00` is not allowed (RFC 3339's "unknown offset" is not ISO 8601);
/// - at most 64 characters.
///
/// `init(_:)` also checks the meaning (`isValidSyntax` checks only the
/// shape): the month is 01–12, the day exists in that month, the hour is
/// 00–23, minute and second 00–59 (leap seconds are rejected, as the
/// reference implementations do), the offset is at most 23:59, and the
/// instant is not before year 0000 in UTC.
///
/// `init(_ date:)` and `now()` give the canonical form
/// `YYYY-MM-DDTHH:MM:SS.sssZ` (UTC, milliseconds).
public struct ATDatetime: SyntaxCheckedString {
    /// The maximum length of a datetime string.
    public static let maxLength = 64

    /// The datetime string exactly as given.
    public let string: String
    /// The instant named (fractions of a second beyond what `Date` can hold
    /// are rounded).
    public let date: Date

    /// Parses a datetime, checking its syntax and its meaning.
    public init(_ string: String) throws(SyntaxError) {
        switch string.withUTF8Bytes(ATDatetime.parse) {
        case .invalid(let reason):
            throw SyntaxError(kind: .datetime, value: string, reason: reason)
        case .valid(let seconds):
            self.string = string
            self.date = Date(timeIntervalSince1970: seconds)
        }
    }

    /// The canonical string of `date`: UTC, milliseconds (truncated), e.g.
    /// `2024-11-23T03:12:45.123Z`. Dates outside the years 0000–9999 are
    /// clamped to that range.
    public init(_ date: Date) {
        let (string, milliseconds) = ATDatetime.canonical(date)
        self.string = string
        self.date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    /// The current time in the canonical form.
    public static func now() -> ATDatetime { ATDatetime(Date()) }

    /// The canonical string of `date` (see `init(_ date:)`).
    public static func format(_ date: Date) -> String { canonical(date).string }

    /// Whether `string` is a valid datetime, in syntax and meaning.
    public static func isValid(_ string: String) -> Bool {
        if case .valid = string.withUTF8Bytes(parse) { return true }
        return false
    }

    /// Whether `string` has the syntax of a datetime, without checking that
    /// the date and time exist (`1985-00-12T…` passes).
    public static func isValidSyntax(_ string: String) -> Bool {
        if case .valid = string.withUTF8Bytes(scan) { return true }
        return false
    }

    // MARK: - Scanning

    /// The numeric fields of a datetime that passed the syntax check.
    struct Fields {
        var year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0
        /// The fraction of a second, from its digits.
        var fraction = 0.0
        /// The offset from UTC in minutes (east positive), before range checks.
        var offsetHours = 0, offsetMinutes = 0, offsetSign = 1
    }

    enum Outcome<Value> {
        case valid(Value)
        case invalid(String)
    }

    static let shapeMessage =
        "a datetime must look like 'YYYY-MM-DDTHH:MM:SS' with an optional fraction of a second"
        + " and a timezone, e.g. '1985-04-12T23:20:50.123Z' or '1985-04-12T23:20:50+01:00'"

    /// Checks the syntax and reads the fields.
    static func scan(_ b: UnsafeBufferPointer<UInt8>) -> Outcome<Fields> {
        if b.count > maxLength { return .invalid("a datetime is at most \(maxLength) characters long") }
        func number(_ at: Int, _ length: Int) -> Int? {
            guard at + length <= b.count else { return nil }
            var value = 0
            for i in at..<(at + length) {
                guard ASCII.isDigit(b[i]) else { return nil }
                value = value * 10 + Int(b[i] - 0x30)
            }
            return value
        }
        func byte(_ at: Int) -> UInt8? { at < b.count ? b[at] : nil }

        var f = Fields()
        guard let year = number(0, 4), byte(4) == ASCII.hyphen,
            let month = number(5, 2), byte(7) == ASCII.hyphen,
            let day = number(8, 2)
        else { return .invalid(shapeMessage) }
        guard let t = byte(10) else {
            return .invalid("a datetime needs a time, e.g. '1985-04-12T23:20:50Z', not just a date")
        }
        guard t == 0x54 else {  // T
            return .invalid("the date and the time must be separated by an upper-case 'T'")
        }
        guard let hour = number(11, 2), byte(13) == ASCII.colon,
            let minute = number(14, 2), byte(16) == ASCII.colon,
            let second = number(17, 2)
        else { return .invalid(shapeMessage) }
        (f.year, f.month, f.day, f.hour, f.minute, f.second) = (year, month, day, hour, minute, second)

        var i = 19
        if byte(i) == ASCII.dot {
            i += 1
            var value: UInt64 = 0
            var scale: UInt64 = 1
            let start = i
            while i < b.count && ASCII.isDigit(b[i]) {
                if i - start < 15 {
                    value = value * 10 + UInt64(b[i] - 0x30)
                    scale *= 10
                }
                i += 1
            }
            if i == start { return .invalid("a fraction of a second needs digits after the '.'") }
            f.fraction = Double(value) / Double(scale)
        }
        guard let zone = byte(i) else {
            return .invalid("a datetime needs a timezone: 'Z' or an offset such as '+01:00'")
        }
        switch zone {
        case 0x5A:  // Z
            guard i + 1 == b.count else { return .invalid(shapeMessage) }
        case 0x7A:  // z
            return .invalid("the UTC timezone must be an upper-case 'Z'")
        case ASCII.plus, ASCII.hyphen:
            guard i + 6 == b.count, let h = number(i + 1, 2), byte(i + 3) == ASCII.colon,
                let m = number(i + 4, 2)
            else {
                return .invalid("a timezone offset must look like '+HH:MM' or '-HH:MM'")
            }
            if zone == ASCII.hyphen && h == 0 && m == 0 {
                return .invalid("the offset '-00:00' is not allowed; write 'Z' or '+00:00' for UTC")
            }
            (f.offsetHours, f.offsetMinutes, f.offsetSign) = (h, m, zone == ASCII.plus ? 1 : -1)
        default:
            return .invalid(shapeMessage)
        }
        return .valid(f)
    }

    /// Checks syntax and meaning; gives seconds since the Unix epoch.
    static func parse(_ b: UnsafeBufferPointer<UInt8>) -> Outcome<Double> {
        switch scan(b) {
        case .invalid(let reason): return .invalid(reason)
        case .valid(let f): return check(f)
        }
    }

    /// The semantic checks on fields that passed the syntax check.
    static func check(_ f: Fields) -> Outcome<Double> {
        guard (1...12).contains(f.month) else { return .invalid("the month must be between 01 and 12") }
        guard f.day >= 1, f.day <= daysInMonth(year: f.year, month: f.month) else {
            return .invalid("the day must exist in the month (01 to \(daysInMonth(year: f.year, month: f.month)))")
        }
        guard f.hour <= 23 else { return .invalid("the hour must be between 00 and 23") }
        guard f.minute <= 59 else { return .invalid("the minute must be between 00 and 59") }
        guard f.second <= 59 else {
            return .invalid("the second must be between 00 and 59 (leap seconds are not supported)")
        }
        guard f.offsetHours <= 23 else { return .invalid("the timezone offset hours must be between 00 and 23") }
        guard f.offsetMinutes <= 59 else {
            return .invalid("the timezone offset minutes must be between 00 and 59")
        }
        let days = daysFromCivil(year: f.year, month: f.month, day: f.day)
        let offset = f.offsetSign * (f.offsetHours * 3600 + f.offsetMinutes * 60)
        let seconds = days * 86400 + f.hour * 3600 + f.minute * 60 + f.second - offset
        if seconds < daysFromCivil(year: 0, month: 1, day: 1) * 86400 {
            return .invalid("the datetime is before the year 0000 once converted to UTC")
        }
        return .valid(Double(seconds) + f.fraction)
    }

    // MARK: - Calendar arithmetic (proleptic Gregorian, UTC)

    static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to the given date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * ((month + 9) % 12) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date of the given day number since 1970-01-01.
    static func civilFromDays(_ days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    /// The canonical string of `date` and its milliseconds since the epoch.
    static func canonical(_ date: Date) -> (string: String, milliseconds: Int64) {
        let minMillis = Int64(daysFromCivil(year: 0, month: 1, day: 1)) * 86_400_000
        let maxMillis = Int64(daysFromCivil(year: 10000, month: 1, day: 1)) * 86_400_000 - 1
        let micros = (date.timeIntervalSince1970 * 1_000_000).rounded()
        var millis: Int64
        if micros.isNaN {
            millis = 0
        } else if micros <= Double(minMillis) * 1000 {
            millis = minMillis
        } else if micros >= Double(maxMillis) * 1000 {
            millis = maxMillis
        } else {
            let m = Int64(micros)
            millis = m >= 0 ? m / 1000 : (m - 999) / 1000
        }
        millis = min(max(millis, minMillis), maxMillis)
        var days = millis / 86_400_000
        var ofDay = millis - days * 86_400_000
        if ofDay < 0 {
            days -= 1
            ofDay += 86_400_000
        }
        let (year, month, day) = civilFromDays(Int(days))
        let ms = Int(ofDay)
        let fields: [(Int, Int)] = [
            (year, 4), (month, 2), (day, 2), (ms / 3_600_000, 2), (ms / 60_000 % 60, 2),
            (ms / 1000 % 60, 2), (ms % 1000, 3),
        ]
        let separators: [UInt8] = [0x2D, 0x2D, 0x54, 0x3A, 0x3A, 0x2E, 0x5A]  // - - T : : . Z
        let string = String(unsafeUninitializedCapacity: 24) { buffer in
            var i = 0
            for (index, (value, width)) in fields.enumerated() {
                var v = value
                for k in stride(from: width - 1, through: 0, by: -1) {
                    buffer[i + k] = UInt8(0x30 + v % 10)
                    v /= 10
                }
                i += width
                buffer[i] = separators[index]
                i += 1
            }
            return i
        }
        return (string, millis)
    }
}
