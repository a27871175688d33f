import Crypto
import Foundation
import HelferrufCore

/// Makes the `Authorization: vapid t=…, k=…` header of RFC 8292 for push requests.
///
/// The token is a JWT signed with ES256: header `{"typ":"JWT","alg":"ES256"}`, claims `aud`
/// (the push service's origin), `exp` (12 hours ahead; RFC 8292 allows at most 24) and `sub`
/// (the operator's contact URI). The signature is the raw 64-byte `r ‖ s`, not DER.
///
/// Signing costs an ECDSA operation, so a header is cached per audience and reused until less
/// than ``refreshMargin`` of its lifetime remains. Safe to call from any thread.
public final class VAPIDTokenSigner: Sendable {
    /// How long a token is valid.
    public static let tokenLifetime: TimeInterval = 12 * 3600
    /// A cached token is replaced once it expires in less than this.
    public static let refreshMargin: TimeInterval = 3600
    /// Cached audiences at most; beyond this the cache starts over (wildcard origins make
    /// the set of audiences open-ended).
    static let cacheLimit = 1024

    /// The signing key.
    public let key: VAPIDKey
    /// The `sub` claim.
    public let subject: String
    private let now: @Sendable () -> Date
    private let cache = LockedState<[String: (header: String, expiry: Date)]>([:])

    /// - Parameters:
    ///   - subject: a `mailto:` or `https:` URI naming the operator (contract §8
    ///     `--push-subject`); push services use it to reach whoever runs the server.
    ///   - now: the clock; tests move it.
    /// - Throws: ``VAPIDSubjectError`` when `subject` is not such a URI (Core's ``PushSubject``).
    public init(
        key: VAPIDKey, subject: String, now: @escaping @Sendable () -> Date = { Date() }
    ) throws(VAPIDSubjectError) {
        guard PushSubject.isValid(subject) else { throw VAPIDSubjectError(subject: subject) }
        self.key = key
        self.subject = subject
        self.now = now
    }

    /// The `Authorization` header value for a request to a push service whose origin
    /// (`PushEndpointPolicy.origin(of:)`) is `audience`.
    ///
    /// - Throws: swift-crypto's error if signing fails (not expected with a valid key).
    public func authorization(audience: String) throws -> String {
        let time = now()
        if let cached = cache.withLock({ $0[audience] }),
            cached.expiry.timeIntervalSince(time) > Self.refreshMargin
        {
            return cached.header
        }
        let expiry = Date(timeIntervalSince1970: (time.timeIntervalSince1970 + Self.tokenLifetime).rounded(.down))
        let header = "vapid t=\(try token(audience: audience, expiry: expiry)), k=\(key.publicKeyBase64URL)"
        cache.withLock { cache in
            if cache.count >= Self.cacheLimit { cache.removeAll() }
            cache[audience] = (header, expiry)
        }
        return header
    }

    /// A signed JWT for `audience` expiring at `expiry`.
    func token(audience: String, expiry: Date) throws -> String {
        struct Claims: Encodable {
            var aud: String
            var exp: Int
            var sub: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let claims = try encoder.encode(Claims(aud: audience, exp: Int(expiry.timeIntervalSince1970), sub: subject))
        let signingInput = Base64URL.encode(Data(#"{"typ":"JWT","alg":"ES256"}"#.utf8)) + "." + Base64URL.encode(claims)
        let signature = try key.signingKey.signature(for: Data(signingInput.utf8)).rawRepresentation
        return signingInput + "." + Base64URL.encode(signature)
    }
}

/// A VAPID subject that is not a `mailto:` or `https:` URI.
public struct VAPIDSubjectError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The subject as given.
    public var subject: String

    public var description: String { "the push subject must be a mailto: or https: URI: \"\(subject)\"" }
}
