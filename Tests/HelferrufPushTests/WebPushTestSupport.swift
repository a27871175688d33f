import Crypto
import Foundation
import HelferrufCore
import Testing

@testable import HelferrufPush

/// A browser's side of RFC 8291, written out independently of the library's derivation, so the
/// tests read what was sent the way a user agent would.
enum UserAgentDecrypter {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func decrypt(_ body: Data, privateKey: P256.KeyAgreement.PrivateKey, authSecret: Data) throws -> Data {
        let bytes = Array(body)
        guard bytes.count >= 21 else { throw Failure(description: "body shorter than a header") }
        let salt = Data(bytes[0..<16])
        let recordSize = bytes[16..<20].reduce(0) { $0 << 8 | Int($1) }
        let keyIDLength = Int(bytes[20])
        guard bytes.count >= 21 + keyIDLength + 16 else { throw Failure(description: "truncated body") }
        let senderPublic = Data(bytes[21..<(21 + keyIDLength)])
        let sealed = Data(bytes[(21 + keyIDLength)...])
        guard sealed.count <= recordSize else { throw Failure(description: "more than one record") }

        let sender = try P256.KeyAgreement.PublicKey(x963Representation: senderPublic)
        let secret = try privateKey.sharedSecretFromKeyAgreement(with: sender)
        let keyInfo = Data("WebPush: info".utf8) + [0] + privateKey.publicKey.x963Representation + senderPublic
        let ikm = secret.hkdfDerivedSymmetricKey(using: SHA256.self, salt: authSecret, sharedInfo: keyInfo, outputByteCount: 32)
        let cek = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Data("Content-Encoding: aes128gcm".utf8) + [0], outputByteCount: 16)
        let nonce = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: ikm, salt: salt, info: Data("Content-Encoding: nonce".utf8) + [0], outputByteCount: 12)
        let box = try AES.GCM.SealedBox(
            nonce: AES.GCM.Nonce(data: nonce.withUnsafeBytes { Data($0) }),
            ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
        var record = Array(try AES.GCM.open(box, using: cek))
        while record.last == 0 { record.removeLast() }
        guard record.last == 2 else { throw Failure(description: "no last-record delimiter") }
        record.removeLast()
        return Data(record)
    }
}

/// Reads and checks a VAPID `Authorization` header the way a push service does.
enum VAPIDVerifier {
    struct Token {
        var header: [String: Any]
        var claims: [String: Any]
        var publicKey: String
    }

    /// Splits `vapid t=…, k=…`, verifies the ES256 signature against `k` and returns the parts.
    static func verify(authorization: String) throws -> Token {
        let prefix = "vapid t="
        guard authorization.hasPrefix(prefix), let comma = authorization.range(of: ", k=") else {
            throw UserAgentDecrypter.Failure(description: "not a vapid header: \(authorization)")
        }
        let token = String(authorization[authorization.index(authorization.startIndex, offsetBy: prefix.count)..<comma.lowerBound])
        let publicKey = String(authorization[comma.upperBound...])
        let parts = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3,
            let headerData = Base64URL.decode(parts[0]), let claimsData = Base64URL.decode(parts[1]),
            let signatureData = Base64URL.decode(parts[2]), let keyData = Base64URL.decode(publicKey)
        else { throw UserAgentDecrypter.Failure(description: "malformed token") }
        let key = try P256.Signing.PublicKey(x963Representation: keyData)
        let signature = try P256.Signing.ECDSASignature(rawRepresentation: signatureData)
        guard key.isValidSignature(signature, for: Data((parts[0] + "." + parts[1]).utf8)) else {
            throw UserAgentDecrypter.Failure(description: "bad signature")
        }
        return Token(
            header: try JSONSerialization.jsonObject(with: Data(headerData)) as? [String: Any] ?? [:],
            claims: try JSONSerialization.jsonObject(with: Data(claimsData)) as? [String: Any] ?? [:],
            publicKey: publicKey)
    }
}

/// A browser's subscription: its private key and auth secret, and the keys it would publish.
struct TestSubscriber: Sendable {
    /// The private key's bytes (swift-crypto's keys are not `Sendable`).
    let privateKeyBytes = P256.KeyAgreement.PrivateKey().rawRepresentation
    let authSecret = Data((0..<16).map { _ in UInt8.random(in: 0...255) })

    var privateKey: P256.KeyAgreement.PrivateKey {
        try! P256.KeyAgreement.PrivateKey(rawRepresentation: privateKeyBytes)  // Made from a valid key above.
    }

    var keys: PushSubscriptionKeys {
        get throws { try PushSubscriptionKeys(publicKey: privateKey.publicKey, authSecret: authSecret) }
    }

    func subscription(endpoint: String) throws -> PushSubscription {
        PushSubscription(endpoint: endpoint, keys: try keys)
    }
}

/// A value shared between a test and the closures it hands out. (An `NSLock`, not a
/// `Mutex`: ThreadSanitizer understands only the former; see `LockedState`.)
final class Locked<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    var value: Value { update { $0 } }

    func update<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return body(&stored)
    }
}
