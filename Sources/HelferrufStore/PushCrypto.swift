import Crypto
import HelferrufCore

/// The small pieces of Web Push that need P-256 or SHA-256 (PROTOCOL.md §8); the push
/// client itself (RFC 8291 encryption, RFC 8292 signing) lives elsewhere.
public enum PushCrypto {
    /// Whether `bytes` is a 65-byte uncompressed point that lies on P-256: what a
    /// subscription's `keys.p256dh` must be.
    public static func isP256Point(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 65, bytes.first == 0x04 else { return false }
        return (try? P256.KeyAgreement.PublicKey(x963Representation: bytes)) != nil
    }

    /// The `Topic` of every push about one call: 32 base64url characters (24 bytes of the
    /// SHA-256 of its id), the same for the alert and every later update.
    public static func topic(callId: String) -> String {
        Base64URL.encode(SHA256.hash(data: Array(callId.utf8)).prefix(24))
    }
}
