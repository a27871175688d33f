import Foundation
import HelferrufCore
import Testing
@testable import HelferrufServer

/// PROTOCOL.md §8 "The message": plaintext size, `TTL` and `Topic`, without a server.
@Suite struct PushPolicyTests {
    let now = Timestamp(millis: 1_800_000_000_000)

    func call(title: String = "Deich", address: String = "Am Wehr 1", orgName: String = "THW", endsIn seconds: Double = 3600) -> Call {
        Call(
            id: "0b9c7d1e-2f3a-4b5c-8d9e-0f1a2b3c4d5e", orgId: "o", orgName: orgName, title: title, description: "", address: address,
            location: GeoPoint(lat: 50.77, lon: 6.08), radiusKm: 5, needed: 3, skills: [], startsAt: now, endsAt: now.adding(seconds: seconds),
            createdAt: now)
    }

    @Test func textsTooLongForTheBudgetAreShortenedAddressFirst() throws {
        // Control characters take six bytes each in JSON: far over 3,000 bytes as they are.
        let long = call(title: String(repeating: "\u{1}", count: 400), address: String(repeating: "\u{2}", count: 400))
        let bytes = PushPolicy.alert(long, distanceKm: 1.23456)
        #expect(bytes.count <= PushPolicy.maxPlaintextBytes)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect((json["address"] as? String)?.hasSuffix("…") == true)
        #expect(json["distanceKm"] as? Double == 1.235)
        // A short call goes out untouched.
        let plain = try #require(try JSONSerialization.jsonObject(with: Data(PushPolicy.alert(call(), distanceKm: 2))) as? [String: Any])
        #expect(plain["title"] as? String == "Deich" && plain["address"] as? String == "Am Wehr 1" && plain["orgName"] as? String == "THW")
        #expect(Set(plain.keys) == ["type", "callId", "title", "orgName", "address", "distanceKm", "startsAt", "endsAt", "needed", "confirmed"])
    }

    @Test func ttlIsTheTimeLeftCappedAtADay() {
        #expect(PushPolicy.ttl(call(endsIn: 3600), now: now) == 3600)
        #expect(PushPolicy.ttl(call(endsIn: 7 * 86_400), now: now) == 86_400)
        #expect(PushPolicy.ttl(call(endsIn: -10), now: now) == 0)
    }

    @Test func theTopicIs32Base64URLCharactersPerCall() {
        let a = PushPolicy.topic(call())
        #expect(a.count == 32 && a.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(PushPolicy.topic(call()) == a)
        var other = call()
        other.id = "another"
        #expect(PushPolicy.topic(other) != a)
    }
}
