import Foundation
import HelferrufCore

extension ClientMessage {
    /// The two funnel answers that follow every alert (PROTOCOL.md §7), read without
    /// `JSONDecoder` when they come exactly as the volunteer page sends them
    /// (`JSON.stringify({type, callId})`): `{"type":"received","callId":"…"}` or the same with
    /// `"seen"`, the id 1–64 bytes of letters, digits, `-` and `_`. With 5,000 recipients a
    /// call brings 5,000–10,000 of them within a second, and decoding each twice (envelope,
    /// then body) was the largest single cost of an answer (docs/BENCHMARKS.md, issue 20).
    /// Anything else (other key order, spaces, escapes, more keys, another id) returns nil
    /// and takes ``parse(_:)``'s general path, which gives the same result for these forms.
    static func funnelFastPath<Bytes: BidirectionalCollection>(_ bytes: Bytes) -> ClientMessage? where Bytes.Element == UInt8 {
        let stage: FunnelStage
        let rest: Bytes.SubSequence
        if bytes.starts(with: receivedPrefix) {
            stage = .received
            rest = bytes[bytes.index(bytes.startIndex, offsetBy: receivedPrefix.count)...]
        } else if bytes.starts(with: seenPrefix) {
            stage = .seen
            rest = bytes[bytes.index(bytes.startIndex, offsetBy: seenPrefix.count)...]
        } else {
            return nil
        }
        // The id, then `"}` and nothing after it.
        guard (3...66).contains(rest.count), rest.suffix(2).elementsEqual(closing) else { return nil }
        let id = rest.dropLast(2)
        guard id.allSatisfy(isIdByte) else { return nil }
        return .funnel(callId: String(decoding: id, as: UTF8.self), stage: stage)
    }

    private static let receivedPrefix = Array(#"{"type":"received","callId":""#.utf8)
    private static let seenPrefix = Array(#"{"type":"seen","callId":""#.utf8)
    private static let closing = Array(#""}"#.utf8)

    private static func isIdByte(_ b: UInt8) -> Bool {
        (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
            || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }
}
