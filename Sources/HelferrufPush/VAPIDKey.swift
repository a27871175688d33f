import Crypto
import Foundation
import HelferrufCore

/// The server's VAPID key pair (RFC 8292): an ECDSA P-256 key that signs the token in every
/// push request, so a push service can tie a subscription to the server that created it.
///
/// The public half is the browser's `applicationServerKey`; subscriptions made with it accept
/// only requests signed with this key, so the key must outlive restarts: store
/// ``rawRepresentation`` and load it with ``init(rawRepresentation:)``. Never print or log it.
public struct VAPIDKey: Sendable, CustomStringConvertible, CustomReflectable {
    /// The 32-byte private scalar, for storage. (Kept as bytes because swift-crypto's key
    /// types are not `Sendable`; ``signingKey`` rebuilds the key.)
    public let rawRepresentation: Data
    /// The 65-byte uncompressed public point (`0x04 ‖ x ‖ y`).
    public let publicKeyX963: Data

    /// Wraps an existing signing key.
    public init(privateKey: P256.Signing.PrivateKey) {
        rawRepresentation = privateKey.rawRepresentation
        publicKeyX963 = privateKey.publicKey.x963Representation
    }

    /// A new random key.
    public static func generate() -> VAPIDKey {
        VAPIDKey(privateKey: P256.Signing.PrivateKey())
    }

    /// Loads a key stored as its 32-byte private scalar.
    ///
    /// - Throws: swift-crypto's error when the bytes are not a valid P-256 scalar.
    public init(rawRepresentation: some ContiguousBytes) throws {
        self.init(privateKey: try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation))
    }

    /// The signing key.
    ///
    /// - Throws: never for a key made by this type's initialisers, which validate it.
    public var signingKey: P256.Signing.PrivateKey {
        get throws { try P256.Signing.PrivateKey(rawRepresentation: rawRepresentation) }
    }

    /// The public point as base64url without padding: `GET /push/key`'s `publicKey` and the
    /// `k` of the `Authorization` header.
    public var publicKeyBase64URL: String { Base64URL.encode(publicKeyX963) }

    public var description: String { "VAPIDKey(public: \(publicKeyBase64URL))" }

    /// `dump` and debuggers show the public key only.
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKeyBase64URL]) }
}
