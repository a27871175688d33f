import Crypto
import Foundation

/// Message encryption for Web Push (RFC 8291), content coding `aes128gcm` (RFC 8188).
///
/// Everything is sent as one record: the body is the RFC 8188 header — salt (16 bytes), record
/// size (4 bytes, big endian), key id length (1 byte), key id (the sender's 65-byte ephemeral
/// public key) — followed by the AES-128-GCM ciphertext of the plaintext, the last-record
/// delimiter `0x02` and the 16-byte tag. The primitives are swift-crypto's; only the RFC's
/// glue (the HKDF inputs, the header) is written here.
public enum WebPushEncryption {
    /// The record size written into the header.
    public static let recordSize = 4096

    /// The length of the RFC 8188 header this library writes: 16 + 4 + 1 + 65.
    public static let headerLength = 86

    /// The largest plaintext sent: the whole body (header, plaintext, delimiter, tag) then
    /// fits the 4096 bytes every push service accepts (larger bodies get 413).
    public static let maximumPlaintextLength = 4096 - headerLength - 1 - 16

    /// A new key pair for one message, from 32 bytes of the system's secure random source.
    ///
    /// Not `P256.KeyAgreement.PrivateKey()`: that generates through BoringSSL's FIPS path,
    /// which checks every new key with an ECDSA sign and verify, about four more curve
    /// multiplications than the message needs. Measured (docs/BENCHMARKS.md, "Web Push"):
    /// 358 → 272 µs of server CPU per push. A random scalar is out of range with a
    /// probability of about 2⁻³², and then simply drawn again.
    public static func freshEphemeralKey() -> P256.KeyAgreement.PrivateKey {
        while true {
            let scalar = SymmetricKey(size: .bits256)
            if let key = try? P256.KeyAgreement.PrivateKey(rawRepresentation: scalar.withUnsafeBytes { Data($0) }) { return key }
        }
    }

    /// Encrypts `plaintext` for one subscriber.
    ///
    /// - Parameters:
    ///   - ephemeralKey: the sender's key pair for this message; a fresh one unless a test
    ///     pins it. Never reuse one across messages.
    ///   - salt: 16 random bytes; fresh unless a test pins it.
    /// - Throws: ``WebPushEncryptionError``.
    public static func encrypt(
        _ plaintext: some DataProtocol,
        for subscriber: PushSubscriptionKeys,
        ephemeralKey: P256.KeyAgreement.PrivateKey = freshEphemeralKey(),
        salt: Data? = nil
    ) throws(WebPushEncryptionError) -> Data {
        guard plaintext.count <= maximumPlaintextLength else { throw .plaintextTooLarge(plaintext.count) }
        let salt = salt ?? Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
        guard salt.count == 16 else { throw .badSalt }
        let senderPublic = ephemeralKey.publicKey.x963Representation
        let userAgentKey: P256.KeyAgreement.PublicKey
        do {
            userAgentKey = try subscriber.publicKey
        } catch {
            throw .cryptoFailure
        }
        let (contentKey, nonce) = try deriveContentKeyAndNonce(
            ownKey: ephemeralKey, peer: userAgentKey,
            userAgentPublic: subscriber.publicKeyX963, senderPublic: senderPublic,
            authSecret: subscriber.authSecret, salt: salt)
        var record = Data(plaintext)
        record.append(0x02)  // Delimiter of the last (only) record; no padding follows.
        let sealed: AES.GCM.SealedBox
        do {
            sealed = try AES.GCM.seal(record, using: contentKey, nonce: nonce)
        } catch {
            throw .cryptoFailure
        }
        var body = header(salt: salt, keyID: senderPublic)
        body.append(sealed.ciphertext)
        body.append(sealed.tag)
        return body
    }

    /// The RFC 8188 header: salt ‖ rs ‖ idlen ‖ keyid.
    static func header(salt: Data, keyID: Data) -> Data {
        var header = salt
        withUnsafeBytes(of: UInt32(recordSize).bigEndian) { header.append(contentsOf: $0) }
        header.append(UInt8(keyID.count))
        header.append(keyID)
        return header
    }

    /// RFC 8291 §3.4 and RFC 8188 §2.2–2.3: the content encryption key and the nonce of the
    /// first (only) record.
    private static func deriveContentKeyAndNonce(
        ownKey: P256.KeyAgreement.PrivateKey, peer: P256.KeyAgreement.PublicKey,
        userAgentPublic: Data, senderPublic: Data, authSecret: Data, salt: Data
    ) throws(WebPushEncryptionError) -> (SymmetricKey, AES.GCM.Nonce) {
        let sharedSecret: SharedSecret
        do {
            sharedSecret = try ownKey.sharedSecretFromKeyAgreement(with: peer)
        } catch {
            throw .cryptoFailure
        }
        // IKM = HKDF(salt = auth_secret, ikm = ecdh_secret, info = key_info, L = 32)
        let keyInfo = Data("WebPush: info\0".utf8) + userAgentPublic + senderPublic
        let inputKeyMaterial = sharedSecret.hkdfDerivedSymmetricKey(
            using: SHA256.self, salt: authSecret, sharedInfo: keyInfo, outputByteCount: 32)
        // PRK = HKDF-Extract(salt, IKM); CEK and NONCE are expansions of it.
        let contentKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKeyMaterial, salt: salt,
            info: Data("Content-Encoding: aes128gcm\0".utf8), outputByteCount: 16)
        let nonceKey = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: inputKeyMaterial, salt: salt,
            info: Data("Content-Encoding: nonce\0".utf8), outputByteCount: 12)
        do {
            // The nonce of record 0 is NONCE XOR 0, i.e. NONCE itself.
            let nonce = try nonceKey.withUnsafeBytes { try AES.GCM.Nonce(data: Data($0)) }
            return (contentKey, nonce)
        } catch {
            throw .cryptoFailure
        }
    }
}

/// Why a message could not be encrypted.
public enum WebPushEncryptionError: Error, Sendable, Equatable {
    /// The plaintext (this many bytes) does not fit one record of a 4096-byte body.
    case plaintextTooLarge(Int)
    /// A pinned salt was not 16 bytes.
    case badSalt
    /// swift-crypto refused an operation (not expected with validated keys).
    case cryptoFailure
}
