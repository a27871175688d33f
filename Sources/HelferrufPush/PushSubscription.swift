import Crypto
import Foundation
import HelferrufCore

/// A browser's `PushSubscription.toJSON()`: where to send and how to encrypt.
public struct PushSubscription: Sendable {
    /// The push service URL to `POST` to. Checked against the ``PushEndpointPolicy`` before
    /// each request, not here, so a policy change applies to stored subscriptions too.
    public var endpoint: String
    /// The subscriber's keys, already validated.
    public var keys: PushSubscriptionKeys

    public init(endpoint: String, keys: PushSubscriptionKeys) {
        self.endpoint = endpoint
        self.keys = keys
    }
}

/// The validated `keys` of a push subscription (RFC 8291 §2): the user agent's ECDH public key
/// and the 16-byte authentication secret that the payload encryption mixes in.
public struct PushSubscriptionKeys: Sendable {
    /// The user agent's P-256 public key (`keys.p256dh`) as its 65-byte uncompressed point,
    /// validated to lie on the curve. (Bytes, because swift-crypto's keys are not `Sendable`.)
    public let publicKeyX963: Data
    /// The authentication secret (`keys.auth`), exactly 16 bytes.
    public let authSecret: Data

    /// Validates the two strings as a browser sends them (contract §8).
    ///
    /// - Parameters:
    ///   - p256dh: base64url (padding optional) of a 65-byte uncompressed point on P-256.
    ///   - auth: base64url (padding optional) of exactly 16 bytes.
    /// - Throws: ``PushSubscriptionKeyError`` naming the field that failed (`p256dh` first).
    public init(p256dh: String, auth: String) throws(PushSubscriptionKeyError) {
        guard let point = Base64URL.decode(p256dh).flatMap({ Self.curvePoint(Data($0)) }) else {
            throw PushSubscriptionKeyError(field: .p256dh)
        }
        guard let secret = Base64URL.decode(auth), secret.count == 16 else {
            throw PushSubscriptionKeyError(field: .auth)
        }
        self.publicKeyX963 = point
        self.authSecret = Data(secret)
    }

    /// Keys as stored: the 65-byte uncompressed point and the 16-byte secret, checked as
    /// ``init(p256dh:auth:)`` checks their base64url forms.
    ///
    /// - Throws: ``PushSubscriptionKeyError`` naming the field that failed (`p256dh` first).
    public init(
        publicKeyX963: some DataProtocol, authSecret: some DataProtocol
    ) throws(PushSubscriptionKeyError) {
        guard let point = Self.curvePoint(Data(publicKeyX963)) else { throw PushSubscriptionKeyError(field: .p256dh) }
        guard authSecret.count == 16 else { throw PushSubscriptionKeyError(field: .auth) }
        self.publicKeyX963 = point
        self.authSecret = Data(authSecret)
    }

    /// `point` when it is a 65-byte uncompressed point that lies on P-256.
    private static func curvePoint(_ point: Data) -> Data? {
        guard point.count == 65, point.first == 0x04,
            (try? P256.KeyAgreement.PublicKey(x963Representation: point)) != nil
        else { return nil }
        return point
    }

    /// Keys from a swift-crypto public key and the secret, e.g. in tests.
    ///
    /// - Throws: ``PushSubscriptionKeyError`` with `.auth` when the secret is not 16 bytes.
    public init(publicKey: P256.KeyAgreement.PublicKey, authSecret: Data) throws(PushSubscriptionKeyError) {
        guard authSecret.count == 16 else { throw PushSubscriptionKeyError(field: .auth) }
        self.publicKeyX963 = publicKey.x963Representation
        self.authSecret = authSecret
    }

    /// `keys.p256dh` in canonical form: base64url without padding of the uncompressed point.
    public var p256dh: String { Base64URL.encode(publicKeyX963) }

    /// The user agent's public key.
    ///
    /// - Throws: never for keys made by this type's initialisers, which validate the point.
    public var publicKey: P256.KeyAgreement.PublicKey {
        get throws { try P256.KeyAgreement.PublicKey(x963Representation: publicKeyX963) }
    }

    /// `keys.auth` in canonical form: base64url without padding.
    public var auth: String { Base64URL.encode(authSecret) }
}

/// Which field of a subscription's `keys` is invalid (the server answers 422 with it).
public struct PushSubscriptionKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The two key fields of a subscription.
    public enum Field: String, Sendable {
        case p256dh
        case auth
    }

    /// The field that failed.
    public var field: Field

    /// The field's JSON path in a subscription body: `keys.p256dh` or `keys.auth`.
    public var fieldPath: String { "keys.\(field.rawValue)" }

    public var description: String {
        switch field {
        case .p256dh: "keys.p256dh is not base64url of a 65-byte uncompressed P-256 point"
        case .auth: "keys.auth is not base64url of 16 bytes"
        }
    }
}
