import Crypto
import Foundation
import Testing

@testable import HelferrufPush

@Suite struct VAPIDTests {
    let endpoint = PushEndpoint("https://fcm.googleapis.com/fcm/send/abc:def")!

    @Test func keySurvivesItsRawRepresentation() throws {
        let key = VAPIDKey.generate()
        #expect(key.rawRepresentation.count == 32)
        let loaded = try VAPIDKey(rawRepresentation: key.rawRepresentation)
        #expect(loaded.publicKeyBase64URL == key.publicKeyBase64URL)
    }

    @Test func publicKeyIsTheUncompressedPointWithoutPadding() throws {
        let key = VAPIDKey.generate()
        #expect(key.publicKeyBase64URL.count == 87)
        #expect(!key.publicKeyBase64URL.contains("="))
        let point = try #require(Base64URL.decode(key.publicKeyBase64URL))
        #expect(point.count == 65 && point.first == 0x04)
        #expect(point == key.publicKeyX963)
        #expect(try key.signingKey.publicKey.x963Representation == point)
    }

    @Test func rawRepresentationOfTheWrongLengthIsRefused() {
        #expect(throws: (any Error).self) { try VAPIDKey(rawRepresentation: Data(count: 31)) }
    }

    @Test func tokenVerifiesAndCarriesTheContractClaims() throws {
        let key = VAPIDKey.generate()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let signer = try VAPIDTokenSigner(key: key, subject: "mailto:ops@example.org", now: { now })
        let token = try VAPIDVerifier.verify(authorization: signer.authorization(for: endpoint))
        #expect(token.publicKey == key.publicKeyBase64URL)
        #expect(token.header["typ"] as? String == "JWT")
        #expect(token.header["alg"] as? String == "ES256")
        #expect(token.claims["aud"] as? String == "https://fcm.googleapis.com")
        #expect(token.claims["sub"] as? String == "mailto:ops@example.org")
        #expect(token.claims["exp"] as? Int == 1_800_000_000 + 12 * 3600)
    }

    @Test(arguments: [
        ("https://fcm.googleapis.com:443/x", "https://fcm.googleapis.com"),
        ("https://Web.Push.Apple.com/abc", "https://web.push.apple.com"),
        ("https://push.example:8443/abc", "https://push.example:8443"),
        ("http://127.0.0.1:8080/push/1", "http://127.0.0.1:8080"),
        ("http://127.0.0.1:80/push/1", "http://127.0.0.1"),
    ])
    func audienceIsTheEndpointOrigin(url: String, origin: String) throws {
        #expect(try #require(PushEndpoint(url)).origin == origin)
    }

    @Test func requestedURLKeepsTheTextButLowercasesTheScheme() throws {
        let endpoint = try #require(PushEndpoint("HTTPS://FCM.googleapis.com/fcm/send/AbC:dEf"))
        #expect(endpoint.url == "https://FCM.googleapis.com/fcm/send/AbC:dEf")
        #expect(endpoint.host == "fcm.googleapis.com")
    }

    @Test func tokenIsCachedPerAudienceUntilCloseToExpiry() throws {
        let clock = Locked(Date(timeIntervalSince1970: 1_800_000_000))
        let signer = try VAPIDTokenSigner(key: .generate(), subject: "https://helferruf.example", now: { clock.value })
        let first = try signer.authorization(for: endpoint)
        #expect(try signer.authorization(for: endpoint) == first)
        let other = try signer.authorization(for: #require(PushEndpoint("https://updates.push.services.mozilla.com/wpush/v2/x")))
        #expect(other != first)
        clock.update { $0 += 10 * 3600 }
        #expect(try signer.authorization(for: endpoint) == first)
        clock.update { $0 += 1.5 * 3600 }
        let renewed = try signer.authorization(for: endpoint)
        #expect(renewed != first)
        let claims = try VAPIDVerifier.verify(authorization: renewed).claims
        #expect(claims["exp"] as? Int == 1_800_000_000 + Int(11.5 * 3600) + 12 * 3600)
    }

    @Test(arguments: ["", "ops@example.org", "mailto:", "http://example.org", "https://", "mailto:a b@example.org", "ftp://x"])
    func subjectMustBeAMailtoOrHTTPSURI(subject: String) {
        #expect(throws: VAPIDSubjectError.self) { try VAPIDTokenSigner(key: .generate(), subject: subject) }
    }
}
