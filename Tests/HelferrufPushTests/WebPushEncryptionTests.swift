import Crypto
import Foundation
import HelferrufCore
import Testing

@testable import HelferrufPush

@Suite struct WebPushEncryptionTests {
    /// RFC 8291 Appendix A, verbatim.
    enum RFC8291 {
        static let plaintext = "When I grow up, I want to be a watermelon"
        static let senderPrivate = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
        static let senderPublic = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
        static let userAgentPrivate = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
        static let userAgentPublic = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        static let authSecret = "BTBZMqHH6r4Tts7J_aSIgg"
        static let salt = "DGv6ra1nlYgDCS1FRnbzlw"
        static let body =
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
    }

    private func decoded(_ text: String) throws -> Data {
        Data(try #require(Base64URL.decode(text)))
    }

    @Test func reproducesTheRFC8291ExampleByteForByte() throws {
        let sender = try P256.KeyAgreement.PrivateKey(rawRepresentation: decoded(RFC8291.senderPrivate))
        #expect(Base64URL.encode(sender.publicKey.x963Representation) == RFC8291.senderPublic)
        let keys = try PushSubscriptionKeys(p256dh: RFC8291.userAgentPublic, auth: RFC8291.authSecret)
        let body = try WebPushEncryption.encrypt(
            Data(RFC8291.plaintext.utf8), for: keys, ephemeralKey: sender, salt: decoded(RFC8291.salt))
        #expect(Base64URL.encode(body) == RFC8291.body)
    }

    @Test func theRFC8291ExampleDecryptsWithTheUserAgentKey() throws {
        let userAgent = try P256.KeyAgreement.PrivateKey(rawRepresentation: decoded(RFC8291.userAgentPrivate))
        #expect(Base64URL.encode(userAgent.publicKey.x963Representation) == RFC8291.userAgentPublic)
        let plaintext = try UserAgentDecrypter.decrypt(
            decoded(RFC8291.body), privateKey: userAgent, authSecret: decoded(RFC8291.authSecret))
        #expect(String(decoding: plaintext, as: UTF8.self) == RFC8291.plaintext)
    }

    @Test func freshKeysAndSaltRoundTripAndDifferEachTime() throws {
        let subscriber = TestSubscriber()
        let plaintext = Data(#"{"type":"alert","callId":"c1"}"#.utf8)
        let first = try WebPushEncryption.encrypt(plaintext, for: subscriber.keys)
        let second = try WebPushEncryption.encrypt(plaintext, for: subscriber.keys)
        #expect(first != second)
        #expect(first.count == WebPushEncryption.headerLength + plaintext.count + 1 + 16)
        for body in [first, second] {
            let opened = try UserAgentDecrypter.decrypt(body, privateKey: subscriber.privateKey, authSecret: subscriber.authSecret)
            #expect(opened == plaintext)
        }
    }

    @Test func headerCarriesRecordSizeAndSenderKey() throws {
        let sender = P256.KeyAgreement.PrivateKey()
        let body = Array(try WebPushEncryption.encrypt(Data("x".utf8), for: TestSubscriber().keys, ephemeralKey: sender))
        #expect(body[16..<20] == [0, 0, 0x10, 0])
        #expect(body[20] == 65)
        #expect(Data(body[21..<86]) == sender.publicKey.x963Representation)
    }

    @Test func largestPlaintextFitsA4096ByteBodyAndOneMoreIsRefused() throws {
        let keys = try TestSubscriber().keys
        let largest = Data(repeating: 0x41, count: WebPushEncryption.maximumPlaintextLength)
        #expect(try WebPushEncryption.encrypt(largest, for: keys).count == 4096)
        #expect(throws: WebPushEncryptionError.plaintextTooLarge(largest.count + 1)) {
            try WebPushEncryption.encrypt(largest + [0x41], for: keys)
        }
    }

    @Test func aSaltOfTheWrongLengthIsRefused() throws {
        #expect(throws: WebPushEncryptionError.badSalt) {
            try WebPushEncryption.encrypt(Data("x".utf8), for: TestSubscriber().keys, salt: Data(count: 15))
        }
    }
}
