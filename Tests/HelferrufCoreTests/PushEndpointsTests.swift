import Testing
@testable import HelferrufCore

/// PROTOCOL.md §8 "Allowed push services": the allow-list, base64url keys, the subject.
@Suite struct PushEndpointsTests {
    static let standard = PushEndpointPolicy.standard
    static let withLocal = try! PushEndpointPolicy(list: PushEndpointPolicy.defaultList + ",http://127.0.0.1:8099, http://[::1]:9000/")

    @Test func theDefaultListHoldsTheContractsFourOrigins() {
        #expect(Self.standard.origins.count == 4)
        #expect(Self.standard.origins.last == .init(scheme: "https", host: "notify.windows.com", port: 443, anySubdomain: true))
    }

    static let allowed: [(String, PushEndpointPolicy)] = [
        ("https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b", standard),
        ("https://FCM.GoogleAPIs.com/fcm/send/x", standard),
        ("HTTPS://fcm.googleapis.com/fcm/send/x", standard),
        ("https://fcm.googleapis.com:443/fcm/send/x", standard),
        ("https://fcm.googleapis.com", standard),
        ("https://fcm.googleapis.com?x=1", standard),
        ("https://updates.push.services.mozilla.com/wpush/v2/gAAAA", standard),
        ("https://web.push.apple.com/QGuQyavXutnMH", standard),
        ("https://wns2-by3p.notify.windows.com/w/?token=BQYAAAD", standard),
        ("https://a.b.notify.windows.com/w/", standard),
        ("http://127.0.0.1:8099/push/1", withLocal),
        ("http://[::1]:9000/push", withLocal),
    ]

    @Test(arguments: allowed)
    func allows(_ endpoint: String, _ policy: PushEndpointPolicy) {
        #expect(policy.allows(endpoint), "\(endpoint)")
    }

    static let refused: [(String, PushEndpointPolicy)] = [
        ("https://evil.com/fcm/send/x", standard),
        ("https://fcm.googleapis.com.evil.com/x", standard),
        ("https://fcm.googleapis.com@evil.com/x", standard),
        ("https://user:pw@fcm.googleapis.com/x", standard),
        ("https://evil.com#@fcm.googleapis.com", standard),
        ("https://fcm.googleapis.com/x#frag", standard),
        ("https://evil.com\\@fcm.googleapis.com/", standard),
        ("https://fcm.googleapis.com\\.evil.com/", standard),
        ("https://fcm.googleapis.com /x", standard),
        (" https://fcm.googleapis.com/x", standard),
        ("https://fcm.googleapis.com/x\ny", standard),
        ("https://fcm.googleapis.com./x", standard),
        ("https://fcm.googleapis.com:8443/x", standard),
        ("https://fcm.googleapis.com:/x", standard),
        ("https://fcm.googleapis.com:0443x/x", standard),
        ("http://fcm.googleapis.com/x", standard),
        ("https://notify.windows.com/w/", standard),
        ("https://evilnotify.windows.com/w/", standard),
        ("https://*.notify.windows.com/w/", standard),
        ("http://169.254.169.254/latest/meta-data/", standard),
        ("http://169.254.169.254/latest/meta-data/", withLocal),
        ("http://[::1]/", standard),
        ("http://[::1]/", withLocal),
        ("http://127.0.0.1/", withLocal),
        ("http://127.0.0.1:8098/", withLocal),
        ("https://127.0.0.1:8099/", withLocal),
        ("http://localhost:8099/", withLocal),
        ("//fcm.googleapis.com/x", standard),
        ("fcm.googleapis.com/x", standard),
        ("https:/fcm.googleapis.com/x", standard),
        ("ftp://fcm.googleapis.com/x", standard),
        ("https://fcm.googleapis.cöm/x", standard),
        ("https://fcm%2Egoogleapis.com/x", standard),
        ("", standard),
        ("https://fcm.googleapis.com/" + String(repeating: "a", count: 2048), standard),
        // From the push client's own table, before the two parsers became this one.
        ("https://fcm.googleapis.com:0443/x", standard),
        ("https://fcm.googleapis.com:99999/x", standard),
        ("https://fcm..googleapis.com/x", standard),
        ("https://.notify.windows.com/w/", standard),
        ("https://%66cm.googleapis.com/x", standard),
        ("https://fcm.googleapis.com\t/x", standard),
        ("https://fcm.googleapis.com/x y", standard),
        ("https:fcm.googleapis.com/x", standard),
        ("https:///fcm.googleapis.com/x", standard),
        ("https://evil.com/#@fcm.googleapis.com", standard),
        ("https://169.254.169.254/latest/meta-data/", standard),
        ("https://127.0.0.1/x", standard),
        ("https://[::ffff:169.254.169.254]/x", standard),
        ("https://2130706433/x", standard),
        ("https://0x7f000001/x", standard),
        ("https://localhost/x", standard),
        ("http://127.0.0.2:8099/x", withLocal),
        ("http://[::2]:9000/x", withLocal),
    ]

    @Test(arguments: refused)
    func refuses(_ endpoint: String, _ policy: PushEndpointPolicy) {
        #expect(!policy.allows(endpoint), "\(endpoint)")
    }

    @Test func refusesListEntriesThatAreNotOrigins() {
        for bad in [
            "fcm.googleapis.com", "https://fcm.googleapis.com/path", "https://a@b.com", "https://*.", "ftp://x.org", "https://x.org:99999",
            "https://fcm.googleapis.com?x", "https://fcm.googleapis.com#x", "https://*", "https://a.*.example.org", "https://example.org,ftp://x",
        ] {
            #expect(throws: PushEndpointPolicy.ListError.self, "\(bad)") { try PushEndpointPolicy(list: bad) }
        }
        #expect((try? PushEndpointPolicy(list: " https://a.org , ,https://b.org/ "))?.origins.count == 2)
    }

    @Test func theOriginOfAnAllowedEndpointIsTheVAPIDAudience() {
        #expect(Self.standard.origin(of: "https://FCM.googleapis.com:443/fcm/send/x") == "https://fcm.googleapis.com")
        #expect(Self.withLocal.origin(of: "http://127.0.0.1:8099/p") == "http://127.0.0.1:8099")
        #expect(Self.standard.origin(of: "https://evil.com/") == nil)
    }

    @Test func base64URLDecodesWithOrWithoutPaddingAndRefusesOtherAlphabets() {
        #expect(Base64URL.decode("BTBZMqHH6r4Tts7J_aSIgg")?.count == 16)
        #expect(Base64URL.decode("BTBZMqHH6r4Tts7J_aSIgg==")?.count == 16)
        #expect(Base64URL.decode("BTBZMqHH6r4Tts7J/aSIgg") == nil)
        #expect(Base64URL.decode("BTBZMqHH6r4Tts7J_aSIgg=") == nil)
        #expect(Base64URL.decode("A") == nil)
        #expect(Base64URL.decode("a b=") == nil)
        for bad in ["+w", "-w=", "-w===", "-_8==", "=", "abcde", "abc=d", "ab\ncd", "äb"] {
            #expect(Base64URL.decode(bad) == nil, "\(bad)")
        }
        #expect(Base64URL.decode("-_8=") == [0xfb, 0xff])
        #expect(Base64URL.encode([0xfb, 0xff]) == "-_8")
        let bytes: [UInt8] = (0..<65).map { UInt8($0 * 7 % 256) }
        #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
    }

    @Test func theSubjectIsAMailtoOrHTTPSURI() {
        for good in ["mailto:admin@localhost", "mailto:leitstelle@aachen.de", "https://helferruf.aachen.de/contact"] {
            #expect(PushSubject.isValid(good), "\(good)")
        }
        for bad in ["admin@localhost", "mailto:", "mailto:@x", "mailto:a@", "http://x.org", "https://", "https://a@b.org", "mailto:a b@c", ""] {
            #expect(!PushSubject.isValid(bad), "\(bad)")
        }
    }

    @Test func alertAreasAreRoundedToTwoDecimals() throws {
        let a = try Rules.alertArea(lat: 50.7764, lon: 6.0849)
        #expect(a == GeoPoint(lat: 50.78, lon: 6.08))
        #expect(throws: ValidationError(field: "alertArea.lat", message: "must be a number from -90 to 90")) { try Rules.alertArea(lat: 91, lon: 0) }
    }
}

extension PushEndpointPolicy: CustomTestStringConvertible {
    public var testDescription: String { "\(origins.count) origins" }
}
