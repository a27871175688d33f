import Foundation

/// Base64url (RFC 4648 §5), the alphabet of every key and token in Web Push.
///
/// Encoding never pads (what browsers and RFC 8292 use). Decoding is strict about the alphabet
/// (`+`, `/`, whitespace and anything else are refused) but accepts optional `=` padding, as
/// `PushSubscription.toJSON()` output varies between browsers.
enum Base64URL {
    static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    /// The decoded bytes, or nil when `text` is not base64url.
    static func decode(_ text: String) -> Data? {
        var body = Substring(text)
        var padding = 0
        while body.hasSuffix("=") {
            body.removeLast()
            padding += 1
        }
        guard padding <= 2, body.utf8.allSatisfy(isAlphabet) else { return nil }
        if padding > 0, (body.utf8.count + padding) % 4 != 0 { return nil }
        guard body.utf8.count % 4 != 1 else { return nil }
        var standard = body.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    static func isAlphabet(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}
