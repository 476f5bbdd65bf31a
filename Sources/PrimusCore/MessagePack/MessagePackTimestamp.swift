import NIOCore
import struct Foundation.Date

/// The timestamp extension (type -1) of the MessagePack spec, to and from `Date`.
///
/// The spec has three forms: timestamp 32 (whole seconds 0...2^32-1), timestamp 64 (30-bit
/// nanoseconds and 34-bit seconds) and timestamp 96 (32-bit nanoseconds and signed 64-bit
/// seconds, any instant). The writer picks the smallest that holds the instant, as every
/// reference implementation does.
///
/// A `Date` is a `Double` of seconds, so it cannot hold every nanosecond of a timestamp. To
/// write a date back with the nanoseconds a peer sent (a JavaScript date has whole
/// milliseconds, a Python one microseconds), the writer uses the coarsest precision, whole
/// seconds, milliseconds, microseconds or nanoseconds, that reads back as the very same
/// `Date`.
enum MessagePackTimestamp {
    /// The instant of `seconds` and `nanoseconds` since 1970: the count of whole
    /// milliseconds (or microseconds, or nanoseconds) divided once, when that count is exact
    /// in a `Double`, so a timestamp of whole milliseconds reads as the `Date` that
    /// `Date(timeIntervalSince1970: ms / 1000)` makes, as a JavaScript peer's date does.
    static func date(seconds: Int64, nanoseconds: UInt32) -> Date {
        for (unit, perSecond) in [(Int64(1_000_000), Int64(1000)), (1000, 1_000_000), (1, 1_000_000_000)] where Int64(nanoseconds) % unit == 0 {
            let (scaled, overflow) = seconds.multipliedReportingOverflow(by: perSecond)
            let total = overflow ? Int64.max : scaled.addingReportingOverflow(Int64(nanoseconds) / unit).partialValue
            if !overflow, total.magnitude < 1 << 53 {
                return Date(timeIntervalSince1970: Double(total) / Double(perSecond))
            }
        }
        return Date(timeIntervalSince1970: Double(seconds) + Double(nanoseconds) / 1e9)
    }

    /// The seconds and nanoseconds of `date`, or an error for a date no timestamp can hold
    /// (not finite, or beyond ±2^63 seconds).
    static func components(of date: Date) throws(PrimusError) -> (seconds: Int64, nanoseconds: UInt32) {
        let interval = date.timeIntervalSince1970
        let whole = interval.rounded(.down)
        guard interval.isFinite, whole >= -9_223_372_036_854_775_808.0, whole < 9_223_372_036_854_775_808.0 else {
            throw PrimusError.encodingFailed("MessagePack timestamp: \(interval) seconds since 1970 is not a representable instant")
        }
        let fraction = interval - whole
        for scale in [1.0, 1e3, 1e6, 1e9] {
            var seconds = Int64(whole)
            var nanoseconds = Int64((fraction * scale).rounded()) * Int64(1e9 / scale)
            if nanoseconds >= 1_000_000_000 {
                seconds += 1
                nanoseconds -= 1_000_000_000
            }
            let candidate = (seconds, UInt32(nanoseconds))
            if scale == 1e9 || self.date(seconds: candidate.0, nanoseconds: candidate.1).timeIntervalSince1970 == interval {
                return candidate
            }
        }
        return (Int64(whole), 0)  // not reached: the nanosecond form is always taken
    }

    /// Writes `date` as a timestamp extension value in its smallest form.
    static func write(_ date: Date, to buffer: inout ByteBuffer) throws(PrimusError) {
        let (seconds, nanoseconds) = try components(of: date)
        if seconds >= 0, seconds < 1 << 34 {
            if nanoseconds == 0, seconds <= 0xFFFF_FFFF {
                buffer.writeInteger(MessagePackFormat.fixext4)
                buffer.writeInteger(MessagePackFormat.timestampType)
                buffer.writeInteger(UInt32(seconds))
            } else {
                buffer.writeInteger(MessagePackFormat.fixext8)
                buffer.writeInteger(MessagePackFormat.timestampType)
                buffer.writeInteger(UInt64(nanoseconds) << 34 | UInt64(seconds))
            }
        } else {
            buffer.writeInteger(MessagePackFormat.ext8)
            buffer.writeInteger(UInt8(12))
            buffer.writeInteger(MessagePackFormat.timestampType)
            buffer.writeInteger(nanoseconds)
            buffer.writeInteger(seconds)
        }
    }

    /// The date of a timestamp extension's `count` data bytes at `offset` of `buffer`; the
    /// caller has checked they are present.
    static func read(_ buffer: ByteBuffer, at offset: Int, count: Int) throws(MessagePackFailure) -> Date {
        let seconds: Int64
        let nanoseconds: UInt32
        switch count {
        case 4:
            seconds = Int64(buffer.getInteger(at: offset, as: UInt32.self) ?? 0)
            nanoseconds = 0
        case 8:
            let packed = buffer.getInteger(at: offset, as: UInt64.self) ?? 0
            nanoseconds = UInt32(packed >> 34)
            seconds = Int64(packed & (1 << 34 - 1))
        case 12:
            nanoseconds = buffer.getInteger(at: offset, as: UInt32.self) ?? 0
            seconds = buffer.getInteger(at: offset + 4, as: Int64.self) ?? 0
        default:
            throw MessagePackFailure("timestamp extension of \(count) bytes (4, 8 or 12 expected)", at: offset)
        }
        guard nanoseconds <= 999_999_999 else {
            throw MessagePackFailure("timestamp nanoseconds \(nanoseconds) above 999999999", at: offset)
        }
        return date(seconds: seconds, nanoseconds: nanoseconds)
    }
}
