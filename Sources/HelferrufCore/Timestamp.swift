/// A point in time as whole milliseconds since the Unix epoch (UTC).
///
/// The domain keeps its own time type so that it stays deterministic and free of
/// `Date` formatting quirks; the wire format is RFC 3339 (see ``RFC3339``).
public struct Timestamp: Sendable, Hashable, Comparable, Codable {
    public var millis: Int64

    public init(millis: Int64) {
        self.millis = millis
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool { lhs.millis < rhs.millis }

    public func adding(seconds: Double) -> Timestamp {
        Timestamp(millis: millis + Int64((seconds * 1000).rounded()))
    }

    public func adding(millis delta: Int64) -> Timestamp {
        Timestamp(millis: millis + delta)
    }
}
