import Foundation
import Testing

@testable import HelferrufPush

@Suite struct PushRetryPolicyTests {
    let now = Date(timeIntervalSince1970: 784_111_777)  // Sun, 06 Nov 1994 08:49:37 GMT

    @Test(arguments: [
        ("0", Duration.seconds(0)),
        ("1", .seconds(1)),
        (" 120 ", .seconds(120)),
        ("Sun, 06 Nov 1994 08:50:37 GMT", .seconds(60)),
        ("Sun, 06 Nov 1994 08:40:00 GMT", .seconds(0)),
        ("99999999999999999999999", .seconds(999_999_999_999)),
    ])
    func retryAfterIsParsed(value: String, expected: Duration) {
        #expect(PushRetryPolicy.parseRetryAfter(value, now: now) == expected)
    }

    @Test(arguments: ["", "-1", "1.5", "soon", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 CET",
                      "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 25:49:37 GMT", "Sun Nov  6 08:49:37 1994"])
    func oddRetryAfterIsIgnored(value: String) {
        #expect(PushRetryPolicy.parseRetryAfter(value, now: now) == nil)
    }

    @Test func backoffDoublesWithBoundedJitterAndHonoursCappedRetryAfter() {
        let policy = PushRetryPolicy(backoffBase: .seconds(1), maximumRetryAfter: .seconds(600), jitter: 0.25)
        for attempt in 1...4 {
            let base = Duration.seconds(1 << (attempt - 1))
            let delay = policy.delay(afterAttempt: attempt, retryAfter: nil)
            #expect(delay >= base && delay <= base * 1.25)
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(30)) == .seconds(30))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(999_999)) == .seconds(600))
        #expect(policy.delay(afterAttempt: 4, retryAfter: .zero) >= .seconds(8))
    }

    @Test(arguments: [(200, PushAnswer.delivered), (201, .delivered), (204, .delivered), (404, .gone), (410, .gone),
                      (400, .rejected), (403, .rejected), (413, .rejected), (301, .rejected), (100, .rejected),
                      (429, .retry), (500, .retry), (503, .retry), (599, .retry), (600, .rejected), (999, .rejected)])
    func statusesAreClassified(status: Int, answer: PushAnswer) {
        #expect(PushAnswer(status: status) == answer)
    }
}
