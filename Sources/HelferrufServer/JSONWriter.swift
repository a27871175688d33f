import HelferrufCore

/// A small, allocation-light JSON writer for the server's outgoing messages.
///
/// Outgoing messages are built by hand rather than with `JSONEncoder`: the contract wants
/// explicit `null`s, fixed key order helps clients and tests, and alerts are encoded once
/// per call on the fan-out path.
struct JSONWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    mutating func raw(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    mutating func raw(_ other: [UInt8]) {
        bytes.append(contentsOf: other)
    }

    mutating func string(_ s: String) {
        bytes.append(34)
        for b in s.utf8 {
            switch b {
            case 34: bytes.append(92); bytes.append(34)
            case 92: bytes.append(92); bytes.append(92)
            case 10: bytes.append(92); bytes.append(110)
            case 13: bytes.append(92); bytes.append(114)
            case 9: bytes.append(92); bytes.append(116)
            case 0..<32:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: bytes.append(b)
            }
        }
        bytes.append(34)
    }

    mutating func optionalString(_ s: String?) {
        if let s { string(s) } else { raw("null") }
    }

    mutating func number(_ d: Double) {
        // Swift prints the shortest representation that round-trips; always finite here.
        bytes.append(contentsOf: (d.isFinite ? "\(d)" : "null").utf8)
    }

    mutating func int(_ i: Int) {
        bytes.append(contentsOf: String(i).utf8)
    }

    mutating func bool(_ b: Bool) {
        if b { raw("true") } else { raw("false") }
    }

    mutating func time(_ t: Timestamp) {
        string(RFC3339.format(t))
    }

    mutating func optionalTime(_ t: Timestamp?) {
        if let t { time(t) } else { raw("null") }
    }

    mutating func stringArray(_ items: [String]) {
        bytes.append(91)
        for (i, s) in items.enumerated() {
            if i > 0 { bytes.append(44) }
            string(s)
        }
        bytes.append(93)
    }

    /// Writes `"key":` (the key must not need escaping).
    mutating func key(_ k: StaticString, first: Bool = false) {
        if !first { bytes.append(44) }
        bytes.append(34)
        raw(k)
        bytes.append(34)
        bytes.append(58)
    }
}
