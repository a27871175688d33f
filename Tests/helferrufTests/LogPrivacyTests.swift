import Foundation
import HummingbirdWSClient
import Logging
import Synchronization
import Testing

/// PROTOCOL.md §1: nothing the server prints or logs contains a token, a contact or a
/// coordinate (the Demo line on first start aside), even at the most verbose log level
/// and when requests fail, are rate-limited or carry garbage.
@Suite(.serialized) struct LogPrivacyTests {
    @Test func mostVerboseLogsCarryNoTokensContactsNamesOrCoordinates() async throws {
        let server = try ServerProcess(freePortArgs(Binary.temporaryDatabase()) + [
            "--log-level", "trace", "--log-format", "json", "--limit-registrations", "1/h",
        ])
        let port = try await server.waitForPort()
        let demoLine = try #require(server.output.first { $0.hasPrefix("{") })
        let orgToken = try #require((try JSONSerialization.jsonObject(with: Data(demoLine.utf8)) as? [String: Any])?["token"] as? String)
        let contact = "contact-marker-0171-555", name = "Annalena Logprobe", lat = "50.123457", lon = "6.654321"

        let created = try await request(port, .post, "/api/v1/volunteers", body: #"{"displayName":"\#(name)","skills":[],"contact":"\#(contact)"}"#)
        let token = try #require(created.1["token"] as? String)
        #expect(try await request(port, .post, "/api/v1/volunteers", body: #"{"displayName":"\#(name)","skills":[],"contact":"\#(contact)"}"#).0 == 429)
        _ = try await request(port, .get, "/api/v1/reach?lat=\(lat)&lon=\(lon)&radiusKm=5", token: orgToken)
        _ = try await request(port, .get, "/api/v1/reach?lat=\(lat)&lon=999&radiusKm=5", token: orgToken)
        _ = try await request(port, .get, "/api/v1/calls", token: "hro_guessed-secret-value")
        _ = try await request(port, .post, "/api/v1/calls", token: orgToken, body: #"{"title":"T","location":{"lat":\#(lat),"lon":\#(lon)},"radiusKm":5,"needed":1,"endsAt":"2999-01-01T00:00:00Z"}"#)
        _ = try await request(port, .patch, "/api/v1/volunteers/me", token: token, body: #"{"contact":"\#(contact)","bad":"#)
        try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws/volunteer", logger: Logger(label: "probe")) { inbound, outbound, _ in
            // Fields in an order that puts secrets at the start of each frame.
            try await outbound.write(.text(#"{"token":"\#(token)","type":"hello"}"#))
            try await outbound.write(.text(#"{"lat":\#(lat),"lon":\#(lon),"type":"location"}"#))
            try await outbound.write(.text(#"{"lat":\#(lat),"lon":"\#(contact)","type":"location"}"#))
            try await outbound.write(.text(#"{"type":"availability","status":"available"}"#))
            // welcome, then the error for the bad location; availability has no reply.
            var seen = 0
            for try await _ in inbound.messages(maxSize: 1 << 20) {
                seen += 1
                if seen == 2 { break }
            }
        }
        _ = try await request(port, .delete, "/api/v1/volunteers/me", token: token)
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)

        let logs = await server.errorOutput()
        let printed = server.output.filter { $0 != demoLine }.joined(separator: "\n")
        #expect(logs.contains(#""msg":"request""#), "the test must see request logs")
        // Token prefixes too: a log that cuts a frame short must not keep the start of one.
        for secret in [String(token.prefix(12)), String(orgToken.prefix(12)), "guessed-secret-value", contact, name, lat, lon] {
            #expect(!logs.contains(secret) && !printed.contains(secret), "\(secret) reached the log")
        }
    }
}
