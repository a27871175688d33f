import Foundation
import HelferrufCore
import Testing
@testable import HelferrufServer

/// `received` and `seen` in the page's exact form skip `JSONDecoder`; every other form
/// takes the general parser, and both must agree (PROTOCOL.md §7, docs/SECURITY.md).
@Suite struct FunnelFastPathTests {
    private func describe(_ r: Result<ClientMessage, ClientMessage.Failure>) -> String {
        switch r {
        case .success(.funnel(let id, let stage)): return "funnel \(stage.rawValue) \(id)"
        case .success(let other): return "other \(other)"
        case .failure(.badJSON): return "bad_json"
        case .failure(.unknownType(let rid)): return "unknown_type \(rid ?? "-")"
        case .failure(.invalid(let why, let rid)): return "invalid \(why) \(rid ?? "-")"
        }
    }

    @Test func thePagesFormIsReadWithoutTheDecoder() {
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e"
        let received = Array(#"{"type":"received","callId":"\#(id)"}"#.utf8)
        let seen = Array(#"{"type":"seen","callId":"\#(id)"}"#.utf8)
        #expect(ClientMessage.funnelFastPath(received).map { describe(.success($0)) } == "funnel received \(id)")
        #expect(ClientMessage.funnelFastPath(seen).map { describe(.success($0)) } == "funnel seen \(id)")
        #expect(describe(ClientMessage.parse(received)) == "funnel received \(id)")
    }

    /// Forms the fast path leaves alone, and what the general parser makes of them.
    @Test(arguments: [
        (#"{"type":"received","callId":""}"#, "invalid callId is not a call id"),
        (#"{"type":"received","callId":"\#(String(repeating: "a", count: 65))"}"#, "invalid callId is not a call id"),
        (#"{"type":"received","callId":"a\"b"}"#, #"funnel received a"b"#),
        (#"{"type":"received","callId":"a\u0062"}"#, "funnel received ab"),
        (#"{"type":"received","callId":"ab"} "#, "funnel received ab"),
        (#"{"type":"received","callId":"ab"}}"#, "bad_json"),
        (#"{"type":"received","callId":"ab","requestId":"r"}"#, "funnel received ab"),
        (#"{"callId":"ab","type":"seen"}"#, "funnel seen ab"),
        (#"{"type":"received","callId":"ab"#, "bad_json"),
        (#"{"type":"received","callId":"äb"}"#, "funnel received äb"),
        (#"{"type":"received","callId":1}"#, "invalid callId"),
        (#"{"type":"received","callId":"ab"}"# + "\u{0}", "bad_json"),
    ])
    func otherFormsTakeTheGeneralPath(_ text: String, _ expected: String) {
        #expect(ClientMessage.funnelFastPath(Array(text.utf8)) == nil)
        let general = describe(ClientMessage.parse(Array(text.utf8)))
        #expect(general.hasPrefix(expected), "\(text) → \(general)")
    }

    @Test func generalAndFastPathAgreeOnTheSameMessage() throws {
        // The same message with a space after a colon takes the general path: same result.
        let fast = describe(ClientMessage.parse(Array(#"{"type":"seen","callId":"c-1_A"}"#.utf8)))
        let general = describe(ClientMessage.parse(Array(#"{"type": "seen","callId": "c-1_A"}"#.utf8)))
        #expect(fast == general && fast == "funnel seen c-1_A")
        // Invalid ids stay invalid.
        #expect(describe(ClientMessage.parse(Array(#"{"type":"received","callId":""}"#.utf8))).hasPrefix("invalid callId"))
        #expect(describe(ClientMessage.parse(Array(#"{"type":"received","callId":"ab"}}"#.utf8))) == "bad_json")
    }
}
