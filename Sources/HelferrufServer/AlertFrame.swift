import HelferrufCore
import NIOCore

/// One call's `alert` (PROTOCOL.md §4) as a finished WebSocket text frame, encoded once per
/// fan-out with a slot for each recipient's `distanceKm`.
///
/// Every recipient gets the same bytes but for the distance's digits and, since the payload's
/// length depends on them, the frame header's length field. So the call object is written
/// once, and each recipient's frame is one allocation: the header, one copy of the shared
/// prefix, the digits and `}}`, with no JSON writer, `String` or frame encoder per recipient.
/// The ``Outbox`` hands such frames to the socket past NIO's frame encoder.
struct AlertFrame {
    /// `{"type":"alert","call":{…,"distanceKm":`
    let prefix: [UInt8]
    private static let suffix: [UInt8] = Array("}}".utf8)

    init(_ call: Call) {
        var w = JSONWriter(capacity: 640)
        w.raw("{\"type\":\"alert\",\"call\":")
        Wire.openCallObject(call, into: &w)
        w.raw(",\"distanceKm\":")
        prefix = w.bytes
    }

    /// The frame of one recipient, header included.
    func frame(distanceKm: Double) -> OutboundFrame {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: Kilometres.maxBytes) { digits in
            let count = Kilometres.write(distanceKm, into: digits)
            let payload = prefix.count + count + Self.suffix.count
            let header = FrameHeader.size(payload: payload)
            var buffer = ByteBufferAllocator().buffer(capacity: header + payload)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: header + payload) { out in
                var at = FrameHeader.write(payload: payload, into: out)
                prefix.withUnsafeBytes { out.baseAddress!.advanced(by: at).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                at += prefix.count
                out.baseAddress!.advanced(by: at).copyMemory(from: UnsafeRawPointer(digits.baseAddress!), byteCount: count)
                at += count
                out[at] = UInt8(ascii: "}")
                out[at + 1] = UInt8(ascii: "}")
                return at + 2
            }
            return OutboundFrame(framed: buffer, headerBytes: header)
        }
    }
}

/// The header of an unmasked, final text frame (RFC 6455 §5.2), as NIO's encoder writes it.
enum FrameHeader {
    static func size(payload: Int) -> Int {
        payload < 126 ? 2 : payload <= 0xFFFF ? 4 : 10
    }

    /// Writes the header at the start of `out`; returns its size.
    static func write(payload: Int, into out: UnsafeMutableRawBufferPointer) -> Int {
        out[0] = 0x81  // FIN, text
        if payload < 126 {
            out[1] = UInt8(payload)
            return 2
        }
        if payload <= 0xFFFF {
            out[1] = 126
            out[2] = UInt8(payload >> 8)
            out[3] = UInt8(payload & 0xFF)
            return 4
        }
        out[1] = 127
        for i in 0..<8 { out[2 + i] = UInt8(truncatingIfNeeded: UInt64(payload) >> (8 * (7 - i))) }
        return 10
    }
}

/// A distance as the contract sends it: rounded to the metre and printed exactly as Swift
/// prints that `Double` (`JSONWriter.number(Wire.roundedKm(d))`: "3.142", "3.1", "12.0").
enum Kilometres {
    /// Longest text written: "null", or up to 12 digits, a sign, a point and three decimals.
    static let maxBytes = 24
    /// Below this, whole metres fit an `Int` exactly and Swift prints no exponent.
    private static let plainLimit = 1e12

    /// Writes the text of `d` into `out` (``maxBytes`` long); returns its length.
    static func write(_ d: Double, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        guard d.isFinite else { return copy("null".utf8, into: out) }
        guard abs(d) < plainLimit else { return copy("\(Wire.roundedKm(d))".utf8, into: out) }
        let rounded = (d * 1000).rounded()
        var at = 0
        if rounded.sign == .minus {
            out[0] = UInt8(ascii: "-")
            at = 1
        }
        let metres = Int(rounded.magnitude)
        at += writeDigits(of: metres / 1000, into: out, at: at)
        out[at] = UInt8(ascii: ".")
        at += 1
        var fraction = metres % 1000
        var digits = 3
        while digits > 1 && fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        var divisor = digits == 3 ? 100 : digits == 2 ? 10 : 1
        while divisor > 0 {
            out[at] = UInt8(ascii: "0") + UInt8(fraction / divisor % 10)
            at += 1
            divisor /= 10
        }
        return at
    }

    private static func writeDigits(of value: Int, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        var v = value
        for i in stride(from: start + count - 1, through: start, by: -1) {
            out[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
        }
        return count
    }

    private static func copy(_ text: String.UTF8View, into out: UnsafeMutableBufferPointer<UInt8>) -> Int {
        var at = 0
        for b in text.prefix(maxBytes) {
            out[at] = b
            at += 1
        }
        return at
    }
}
