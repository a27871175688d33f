import Crypto
import Foundation
import HelferrufCore
import Testing

@testable import HelferrufPush

@Suite struct VAPIDTests {
    let audience = "https://fcm.googleapis.com"

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
        #expect(Data(point) == key.publicKeyX963)
        #expect(try key.signingKey.publicKey.x963Representation == Data(point))
    }

    @Test func rawRepresentationOfTheWrongLengthIsRefused() {
        #expect(throws: (any Error).self) { try VAPIDKey(rawRepresentation: Data(count: 31)) }
    }

    @Test func tokenVerifiesAndCarriesTheContractClaims() throws {
        let key = VAPIDKey.generate()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let signer = try VAPIDTokenSigner(key: key, subject: "mailto:ops@example.org", now: { now })
        let token = try VAPIDVerifier.verify(authorization: signer.authorization(audience: audience))
        #expect(token.publicKey == key.publicKeyBase64URL)
        #expect(token.header["typ"] as? String == "JWT")
        #expect(token.header["alg"] as? String == "ES256")
        #expect(token.claims["aud"] as? String == "https://fcm.googleapis.com")
        #expect(token.claims["sub"] as? String == "mailto:ops@example.org")
        #expect(token.claims["exp"] as? Int == 1_800_000_000 + 12 * 3600)
    }

    @Test func keyDescriptionsShowThePublicKeyOnly() {
        let key = VAPIDKey.generate()
        var dumped = ""
        dump(key, to: &dumped)
        let secret = Base64URL.encode(key.rawRepresentation)
        for shown in [key.description, String(reflecting: key), dumped] {
            #expect(!shown.contains(secret) && !shown.contains("\(Array(key.rawRepresentation))") && shown.contains(key.publicKeyBase64URL))
        }
    }

    @Test func tokenIsCachedPerAudienceUntilCloseToExpiry() throws {
        let clock = Locked(Date(timeIntervalSince1970: 1_800_000_000))
        let signer = try VAPIDTokenSigner(key: .generate(), subject: "https://helferruf.example", now: { clock.value })
        let first = try signer.authorization(audience: audience)
        #expect(try signer.authorization(audience: audience) == first)
        let other = try signer.authorization(audience: "https://updates.push.services.mozilla.com")
        #expect(other != first)
        clock.update { $0 += 10 * 3600 }
        #expect(try signer.authorization(audience: audience) == first)
        clock.update { $0 += 1.5 * 3600 }
        let renewed = try signer.authorization(audience: audience)
        #expect(renewed != first)
        let claims = try VAPIDVerifier.verify(authorization: renewed).claims
        #expect(claims["exp"] as? Int == 1_800_000_000 + Int(11.5 * 3600) + 12 * 3600)
    }

    @Test(arguments: ["", "ops@example.org", "mailto:", "http://example.org", "https://", "mailto:a b@example.org", "ftp://x"])
    func subjectMustBeAMailtoOrHTTPSURI(subject: String) {
        #expect(throws: VAPIDSubjectError.self) { try VAPIDTokenSigner(key: .generate(), subject: subject) }
    }
}
