import Crypto
import Foundation
import HelferrufCore
import Testing

@testable import HelferrufPush

@Suite struct PushSubscriptionKeysTests {
    static let p256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    static let auth = "BTBZMqHH6r4Tts7J_aSIgg"

    @Test(arguments: [
        (p256dh, auth),
        (p256dh + "=", auth + "=="),
    ])
    func validKeysAreAccepted(p256dh: String, auth: String) throws {
        let keys = try PushSubscriptionKeys(p256dh: p256dh, auth: auth)
        #expect(keys.p256dh == Self.p256dh)
        #expect(keys.auth == Self.auth)
    }

    static let offCurvePoint: String = {
        var point = Array(Base64URL.decode(p256dh)!)
        point[64] ^= 1
        return Base64URL.encode(point)
    }()

    static let compressedPoint = Base64URL.encode(
        P256.KeyAgreement.PrivateKey().publicKey.compressedRepresentation)

    @Test(arguments: [
        ("", PushSubscriptionKeyError.Field.p256dh),
        ("BCVxsr7N", .p256dh),
        (offCurvePoint, .p256dh),
        (compressedPoint, .p256dh),
        ("A" + p256dh.dropFirst(), .p256dh),
        (p256dh.replacingOccurrences(of: "-", with: "+"), .p256dh),
        (p256dh + "A", .p256dh),
        (p256dh + "===", .p256dh),
        (" " + p256dh, .p256dh),
        (Base64URL.encode(Data(count: 65)), .p256dh),
    ])
    func badP256dhIsNamed(p256dh: String, field: PushSubscriptionKeyError.Field) {
        #expect(throws: PushSubscriptionKeyError(field: field)) {
            try PushSubscriptionKeys(p256dh: p256dh, auth: Self.auth)
        }
    }

    @Test(arguments: ["", "BTBZMqHH6r4Tts7J_aSI", "BTBZMqHH6r4Tts7J_aSIggAA", "BTBZMqHH6r4Tts7J/aSIgg", "BTBZMqHH6r4Tts7J_aSIg g"])
    func badAuthIsNamed(auth: String) {
        #expect(throws: PushSubscriptionKeyError(field: .auth)) {
            try PushSubscriptionKeys(p256dh: Self.p256dh, auth: auth)
        }
        #expect(PushSubscriptionKeyError(field: .auth).fieldPath == "keys.auth")
    }

    @Test func storedBytesAreCheckedLikeTheirBase64URLForms() throws {
        let point = try #require(Base64URL.decode(Self.p256dh))
        let secret = try #require(Base64URL.decode(Self.auth))
        let keys = try PushSubscriptionKeys(publicKeyX963: [UInt8](point), authSecret: [UInt8](secret))
        #expect(keys.p256dh == Self.p256dh && keys.auth == Self.auth)
        var offCurve = [UInt8](point)
        offCurve[64] ^= 1
        #expect(throws: PushSubscriptionKeyError(field: .p256dh)) {
            try PushSubscriptionKeys(publicKeyX963: offCurve, authSecret: secret)
        }
        #expect(throws: PushSubscriptionKeyError(field: .auth)) {
            try PushSubscriptionKeys(publicKeyX963: point, authSecret: secret.dropLast())
        }
    }

    @Test(arguments: ["a", "call-123_ABC", String(repeating: "x", count: 32)])
    func validTopics(topic: String) {
        #expect(PushTopic(topic)?.value == topic)
    }

    @Test(arguments: ["", String(repeating: "x", count: 33), "call 1", "call/1", "call=", "ünï"])
    func invalidTopics(topic: String) {
        #expect(PushTopic(topic) == nil)
    }

    @Test func topicFromADigestIsAValidStableTopic() {
        let id = "1dbe3fd4-6f1a-4c1e-9a57-3f0c2b8e5d71"
        let topic = PushTopic(digestOf: id)
        #expect(topic.value.count == 32)
        #expect(PushTopic(topic.value) == topic)
        #expect(PushTopic(digestOf: id) == topic)
        #expect(PushTopic(digestOf: id + "x") != topic)
    }

    @Test func messageChecksTTLAndPayloadSize() throws {
        let subscription = PushSubscription(endpoint: "https://fcm.googleapis.com/x", keys: try TestSubscriber().keys)
        for ttl in [0, 86_400] {
            #expect(throws: Never.self) {
                try PushMessage(subscription: subscription, payload: Data("{}".utf8), ttl: ttl, urgency: .high, topic: nil)
            }
        }
        #expect(throws: PushMessageError.ttlOutOfRange(-1)) {
            try PushMessage(subscription: subscription, payload: Data(), ttl: -1, urgency: .high, topic: nil)
        }
        #expect(throws: PushMessageError.ttlOutOfRange(86_401)) {
            try PushMessage(subscription: subscription, payload: Data(), ttl: 86_401, urgency: .high, topic: nil)
        }
        let tooLarge = Data(count: WebPushEncryption.maximumPlaintextLength + 1)
        #expect(throws: PushMessageError.payloadTooLarge(tooLarge.count)) {
            try PushMessage(subscription: subscription, payload: tooLarge, ttl: 60, urgency: .high, topic: nil)
        }
    }
}
