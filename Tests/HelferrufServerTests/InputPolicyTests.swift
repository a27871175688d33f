import Foundation
import HTTPTypes
import Testing
@testable import HelferrufServer

/// The input policy of docs/SECURITY.md, for HTTP bodies and socket messages alike.
@Suite struct InputPolicyTests {
    private static let volunteer = #"{"displayName":"A","skills":[],"maxDistanceKm":"#

    private func decode(_ bytes: [UInt8]) -> Result<VolunteerCreateInput, JSONInput.Failure> {
        JSONInput.decode(VolunteerCreateInput.self, from: bytes)
    }

    private func isBadJSON(_ r: Result<VolunteerCreateInput, JSONInput.Failure>) -> Bool {
        if case .failure(.badJSON) = r { return true }
        return false
    }

    @Test(arguments: ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "0x10", "+1", ".5", "01"])
    func nonFiniteAndNonJSONNumbersAreBadJSON(_ number: String) {
        #expect(isBadJSON(decode(Array((Self.volunteer + number + "}").utf8))))
        #expect(ClientMessage.parse(Array(#"{"type":"location","lat":\#(number),"lon":1}"#.utf8)).isBadJSON)
    }

    @Test func unknownFieldsAreIgnored() throws {
        let r = decode(Array(#"{"displayName":"A","skills":[],"future":{"nested":[1,2,{"x":null}]},"also":true}"#.utf8))
        #expect(try r.get().displayName == "A")
        guard case .success(.accept(let id, let rid, let party)) = ClientMessage.parse(Array(#"{"type":"accept","callId":"c","party":3,"x":[]}"#.utf8)) else {
            Issue.record("an accept with unknown fields was refused")
            return
        }
        #expect(id == "c" && rid == nil && party == 3)
    }

    @Test func invalidUTF8IsBadJSONEvenInUnknownFields() {
        let prefix = Array(#"{"displayName":"A","skills":[],"x":""#.utf8)
        for bad: [UInt8] in [[0xFF], [0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]] {
            #expect(isBadJSON(decode(prefix + bad + Array(#""}"#.utf8))), "\(bad)")
        }
        #expect(isBadJSON(decode(Array(#"{"displayName":"\ud800","skills":[]}"#.utf8))), "lone surrogate escape")
    }

    @Test func deepNestingIsBadJSON() {
        let deep = Array(repeating: UInt8(ascii: "["), count: 10_000) + Array(repeating: UInt8(ascii: "]"), count: 10_000)
        #expect(isBadJSON(decode(Array(#"{"displayName":"A","skills":[],"x":"#.utf8) + deep + [UInt8(ascii: "}")])))
    }

    @Test func notAnObjectIsBadJSON() {
        for body in ["", " ", "[]", "null", "\"x\"", "1", #"{"displayName":"A","skills":[]} trailing"#, "{"] {
            #expect(isBadJSON(decode(Array(body.utf8))), "\(body)")
        }
    }

    @Test func wrongTypesAndNullsNameTheField() {
        for (body, field) in [
            (#"{"displayName":1,"skills":[]}"#, "displayName"),
            (#"{"displayName":null,"skills":[]}"#, "displayName"),
            (#"{"displayName":"A","skills":[1]}"#, "skills.0"),
            (#"{"skills":[]}"#, "displayName"),
        ] {
            guard case .failure(.invalid(let e)) = decode(Array(body.utf8)) else {
                Issue.record("\(body) was not refused with a field")
                continue
            }
            #expect(e.field == field, "\(body)")
        }
    }

    @Test func callNumbersMustBeWholeAndInRange() throws {
        func needed(_ n: String) throws -> Int {
            let body = #"{"title":"T","location":{"lat":1,"lon":1},"radiusKm":1,"needed":\#(n),"endsAt":"2030-01-01T00:00:00Z"}"#
            return try JSONInput.decode(CallCreateInput.self, from: Array(body.utf8)).get().draft().needed
        }
        #expect(try needed("40") == 40)
        #expect(try needed("4e1") == 40)
        for bad in ["2.5", "1e10", "-1e300", "123456789012345678901234567890"] {
            #expect(throws: (any Error).self, "\(bad)") { try needed(bad) }
        }
    }
}

/// Found by schemathesis: a 405 must name the allowed methods (RFC 9110 §15.5.6).
@Suite struct MethodNotAllowedTests {
    @Test func answersWithAllow() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        for (method, path, allow) in [
            (HTTPRequest.Method.trace, "/healthz", "GET"), (.put, "/api/v1/volunteers/me", "GET, PATCH, DELETE"),
            (.delete, "/api/v1/calls/abc", "GET"), (.get, "/api/v1/calls/abc/cancel", "POST"),
        ] {
            let r = try await s.httpText(method, path)
            #expect(r.status == 405 && r.headers[.allow] == allow, "\(method) \(path)")
            #expect(r.text.contains(#""code":"method_not_allowed""#))
        }
        #expect(try await s.httpText(.get, "/api/v1/nothing").headers[.allow] == nil)
    }
}

extension Result where Success == ClientMessage, Failure == ClientMessage.Failure {
    var isBadJSON: Bool {
        if case .failure(.badJSON) = self { return true }
        return false
    }
}
