import Foundation

/// base64url (RFC 4648 §5), as Web Push uses it for keys: encoded without padding, decoded
/// with or without it. Characters outside the URL-safe alphabet are refused, so a standard
/// base64 string with `+` or `/` does not pass for a key.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var body = Substring(text)
        while body.hasSuffix("=") { body = body.dropLast() }
        // Padding, when present, must complete the last quantum exactly.
        if body.count != text.count, text.count % 4 != 0 || text.count - body.count > 2 { return nil }
        guard body.count % 4 != 1, body.utf8.allSatisfy({ isAlphabet($0) }) else { return nil }
        var standard = body.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map { [UInt8]($0) }
    }

    /// Whether `c` is one of base64url's 64 characters (`A–Z a–z 0–9 - _`).
    public static func isAlphabet(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
    }
}
