import Testing

@testable import HelferrufPush

@Suite struct PushEndpointPolicyTests {
    static let allowedByDefault = [
        "https://fcm.googleapis.com/fcm/send/dQw4w9WgXcQ:APA91bH",
        "https://FCM.googleapis.COM/fcm/send/x",
        "HTTPS://fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com:443/fcm/send/x",
        "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABb",
        "https://web.push.apple.com/QGuQyavXutnMbi6",
        "https://wns2-by3p.notify.windows.com/w/?token=BQYAAAB",
        "https://a.b.notify.windows.com/w/",
        "https://fcm.googleapis.com",
    ]

    static let refusedByDefault = [
        "",
        "fcm.googleapis.com/fcm/send/x",
        "//fcm.googleapis.com/x",
        "ftp://fcm.googleapis.com/x",
        "http://fcm.googleapis.com/fcm/send/x",
        "https://fcm.googleapis.com:8443/fcm/send/x",
        "https://fcm.googleapis.com:/x",
        "https://fcm.googleapis.com:0443/x",
        "https://fcm.googleapis.com:99999/x",
        "https://fcm.googleapis.com.evil.com/x",
        "https://evil.com#@fcm.googleapis.com",
        "https://evil.com/#@fcm.googleapis.com",
        "https://fcm.googleapis.com@evil.com/x",
        "https://user:pw@fcm.googleapis.com/x",
        "https://evil.com\\@fcm.googleapis.com/x",
        "https://fcm.googleapis.com\\x",
        "https://fcm%2egoogleapis.com/x",
        "https://%66cm.googleapis.com/x",
        "https://fcm.googleapis.com./x",
        "https://fcm..googleapis.com/x",
        " https://fcm.googleapis.com/x",
        "https://fcm.googleapis.com/x y",
        "https://fcm.googleapis.com/x\n",
        "https://fcm.googleapis.com\t/x",
        "https://fcm.googleapis.com/x#fragment",
        "https://fcm.googleapis.com?x=1",
        "https://fcm.googleapis.cöm/x",
        "https://notify.windows.com/w/",
        "https://evilnotify.windows.com/w/",
        "https://.notify.windows.com/w/",
        "https://*.notify.windows.com/w/",
        "https://169.254.169.254/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1/x",
        "https://[::1]/x",
        "https://[::ffff:169.254.169.254]/x",
        "https://2130706433/x",
        "https://0x7f000001/x",
        "https://localhost/x",
        "https:fcm.googleapis.com/x",
        "https:/fcm.googleapis.com/x",
        "https:///fcm.googleapis.com/x",
        "https://fcm.googleapis.com" + "/x" + String(repeating: "a", count: 2048),
    ]

    @Test(arguments: allowedByDefault)
    func defaultListAllows(endpoint: String) {
        #expect(PushEndpointPolicy.default.allows(endpoint: endpoint))
    }

    @Test(arguments: refusedByDefault)
    func defaultListRefuses(endpoint: String) {
        #expect(!PushEndpointPolicy.default.allows(endpoint: endpoint))
    }

    @Test func lengthLimitIs2048Characters() {
        let prefix = "https://fcm.googleapis.com/"
        let exact = prefix + String(repeating: "a", count: 2048 - prefix.count)
        #expect(PushEndpointPolicy.default.allows(endpoint: exact))
        #expect(!PushEndpointPolicy.default.allows(endpoint: exact + "a"))
    }

    @Test(arguments: [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/push/1", true),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8081/push/1", false),
        ("http://127.0.0.1:8080", "https://127.0.0.1:8080/push/1", false),
        ("http://127.0.0.1:8080", "http://127.0.0.2:8080/push/1", false),
        ("http://127.0.0.1", "http://127.0.0.1:80/x", true),
        ("http://127.0.0.1", "http://127.0.0.1/x", true),
        ("https://[::1]:9443", "https://[::1]:9443/x", true),
        ("https://[::1]:9443", "https://[::2]:9443/x", false),
        ("https://Push.Example.ORG", "https://push.example.org/x", true),
        ("https://*.example.org", "https://a.example.org/x", true),
        ("https://*.example.org", "https://example.org/x", false),
        ("https://*.example.org", "https://a.example.org.evil.com/x", false),
        ("https://*.example.org:8443", "https://a.example.org/x", false),
        ("https://*.example.org:8443", "https://a.example.org:8443/x", true),
        (" https://a.example , https://b.example ", "https://b.example/x", true),
    ])
    func explicitLists(list: String, endpoint: String, allowed: Bool) throws {
        let policy = try PushEndpointPolicy(origins: list)
        #expect(policy.allows(endpoint: endpoint) == allowed)
    }

    @Test(arguments: [
        "", ",", "fcm.googleapis.com", "https://fcm.googleapis.com/fcm", "https://user@fcm.googleapis.com",
        "https://fcm.googleapis.com?x", "https://*", "https://*.", "https://a.*.example.org",
"ftp://example.org", "https://fcm.googleapis.com#x", "https://example.org,ftp://x",
    ])
    func malformedListsAreRefused(list: String) {
        #expect(throws: PushEndpointPolicyError.self) { try PushEndpointPolicy(origins: list) }
    }

    @Test func defaultListParses() throws {
        let parsed = try PushEndpointPolicy(origins: PushEndpointPolicy.defaultOrigins)
        #expect(parsed == PushEndpointPolicy.default)
    }
}
