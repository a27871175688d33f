import Foundation
import HelferrufCore
import Testing

@testable import HelferrufPush

/// Sends real pushes to an independent push service: `tests/push/push_service.py`, which
/// checks them with Python's `cryptography` and `http_ece`. Driven by
/// `tests/push/test_push_client_interop.py`; skipped unless its environment is set:
///
/// - `HELFERRUF_PUSH_INTEROP_URL`: the service's origin (allowed as the only push service);
/// - `HELFERRUF_PUSH_INTEROP_SUBSCRIPTIONS`: a JSON array of `PushSubscription.toJSON()`;
/// - `HELFERRUF_PUSH_INTEROP_RESULTS`: a file to write `[{"endpoint","outcome","attempts","status"}]` to.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["HELFERRUF_PUSH_INTEROP_URL"] != nil))
struct PushInteropTests {
    struct Subscription: Decodable {
        struct Keys: Decodable {
            var p256dh: String
            var auth: String
        }

        var endpoint: String
        var keys: Keys
    }

    struct Result: Encodable {
        var endpoint: String
        var outcome: String
        var attempts: Int
        var status: Int?
    }

    @Test func sendsOneAlertPerSubscription() async throws {
        let environment = ProcessInfo.processInfo.environment
        let origin = try #require(environment["HELFERRUF_PUSH_INTEROP_URL"])
        let subscriptions = try JSONDecoder().decode(
            [Subscription].self, from: Data(try #require(environment["HELFERRUF_PUSH_INTEROP_SUBSCRIPTIONS"]).utf8))
        let resultsPath = try #require(environment["HELFERRUF_PUSH_INTEROP_RESULTS"])

        let delivery = PushDelivery(
            signer: try VAPIDTokenSigner(key: .generate(), subject: "mailto:interop@helferruf.example"),
            policy: try PushEndpointPolicy(list: origin),
            configuration: .init(retry: PushRetryPolicy(backoffBase: .milliseconds(50))))
        let payload = Data(
            #"{"type":"alert","callId":"7c1d","title":"Sandsäcke füllen an der Wurm","orgName":"THW Aachen","distanceKm":3.2,"needed":40,"confirmed":0}"#
                .utf8)
        var results: [Result] = []
        for subscription in subscriptions {
            let message = try PushMessage(
                subscription: PushSubscription(
                    endpoint: subscription.endpoint,
                    keys: PushSubscriptionKeys(p256dh: subscription.keys.p256dh, auth: subscription.keys.auth)),
                payload: payload, ttl: 3600, urgency: .high, topic: PushTopic("call-7c1d"))
            let result: PushResult = await withCheckedContinuation { continuation in
                let accepted = delivery.submit(message) { continuation.resume(returning: $0) }
                if !accepted { continuation.resume(returning: PushResult(outcome: .dropped, attempts: 0)) }
            }
            results.append(
                Result(endpoint: subscription.endpoint, outcome: result.outcome.rawValue, attempts: result.attempts,
                       status: result.lastStatus))
        }
        await delivery.shutdown()
        try JSONEncoder().encode(results).write(to: URL(fileURLWithPath: resultsPath))
    }
}
