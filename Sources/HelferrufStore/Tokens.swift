import Crypto
import Foundation
import HelferrufCore

/// Bearer tokens: 256 random bits, URL-safe, with a prefix naming their kind. Only the
/// SHA-256 of a token is ever stored.
public enum Tokens {
    public typealias Kind = TokenKind

    public static func generate(_ kind: Kind) -> String {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let b64 = Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        return kind.rawValue + b64
    }

    /// Hex SHA-256 of the token's UTF-8 bytes.
    public static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// New random identifier for stored records.
    public static func newId() -> String {
        UUID().uuidString.lowercased()
    }
}
