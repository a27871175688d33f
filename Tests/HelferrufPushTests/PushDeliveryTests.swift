import Foundation
import HelferrufCore
import Testing

@testable import HelferrufPush

@Suite struct PushDeliveryTests {
    @Test func deliveredRequestIsWellFormedEncryptedAndSigned() async throws {
        try await DeliveryRig.with(script: { _, _ in .status(201) }) { rig in
            let payload = #"{"type":"alert","callId":"c-1","title":"Sandsäcke füllen"}"#
            let result = try await rig.send(rig.message(payload: payload, ttl: 5400))
            #expect(result == PushResult(outcome: .delivered, attempts: 1, lastStatus: 201))

            let request = try #require(rig.service.requests.first)
            #expect(rig.service.requests.count == 1)
            #expect(request.method == .POST)
            #expect(request.path == "/push/1")
            #expect(request.headers["TTL"] == ["5400"])
            #expect(request.headers["Urgency"] == ["high"])
            #expect(request.headers["Topic"] == ["call-c-1"])
            #expect(request.headers["Content-Encoding"] == ["aes128gcm"])
            #expect(request.headers["Content-Type"] == ["application/octet-stream"])
            #expect(request.headers["Content-Length"] == ["\(request.body.count)"])

            let plaintext = try UserAgentDecrypter.decrypt(
                request.body, privateKey: rig.subscriber.privateKey, authSecret: rig.subscriber.authSecret)
            #expect(String(decoding: plaintext, as: UTF8.self) == payload)

            let authorization = try #require(request.headers["Authorization"].first)
            let token = try VAPIDVerifier.verify(authorization: authorization)
            #expect(token.publicKey == rig.key.publicKeyBase64URL)
            #expect(token.claims["aud"] as? String == rig.service.origin)
            #expect(token.claims["sub"] as? String == "mailto:ops@helferruf.example")
            let expiry = try #require(token.claims["exp"] as? Int)
            let now = Int(Date().timeIntervalSince1970)
            #expect(expiry > now && expiry <= now + 24 * 3600)
        }
    }

    @Test func normalUrgencyAndNoTopicAreSentAsGiven() async throws {
        try await DeliveryRig.with(script: { _, _ in .status(200) }) { rig in
            _ = try await rig.send(rig.message(ttl: 0, urgency: .normal, topic: nil))
            let request = try #require(rig.service.requests.first)
            #expect(request.headers["Urgency"] == ["normal"])
            #expect(request.headers["TTL"] == ["0"])
            #expect(request.headers["Topic"].isEmpty)
        }
    }

    @Test(arguments: [404, 410])
    func goneAfterOneRequest(status: Int) async throws {
        try await DeliveryRig.with(script: { _, _ in .status(status) }) { rig in
            let result = try await rig.send(rig.message())
            #expect(result == PushResult(outcome: .gone, attempts: 1, lastStatus: status))
            #expect(rig.service.requests.count == 1)
        }
    }

    @Test(arguments: [400, 403, 413, 301, 600, 999])
    func rejectedWithoutRetry(status: Int) async throws {
        try await DeliveryRig.with(script: { _, _ in .status(status, [("Location", "http://169.254.169.254/")]) }) { rig in
            let result = try await rig.send(rig.message())
            #expect(result == PushResult(outcome: .rejected, attempts: 1, lastStatus: status))
            #expect(rig.service.requests.count == 1)
        }
    }

    @Test func aLargeOrStalledAnswerBodyDoesNotChangeTheAnswer() async throws {
        let script: ScriptedPushService.Script = { path, _ in
            var answer = ScriptedPushService.Answer.status(201)
            answer.bodyLength = path == "/large" ? 1 << 20 : 100
            answer.stallBody = path == "/stalled"
            return answer
        }
        // The timeout must outlast a 1 MiB answer on a loaded machine (300 ms did not, at a
        // load average of 15): only the stalled body may run into it.
        try await DeliveryRig.with(requestTimeout: .seconds(2), script: script) { rig in
            for path in ["/large", "/stalled", "/large"] {
                let result = try await rig.send(rig.message(path: path))
                #expect(result == PushResult(outcome: .delivered, attempts: 1, lastStatus: 201))
            }
            #expect(rig.service.requests.count == 3)
        }
    }

    @Test func tooManyRequestsHonoursRetryAfterThenDelivers() async throws {
        let script: ScriptedPushService.Script = { _, index in
            index == 0 ? .status(429, [("Retry-After", "1")]) : .status(201)
        }
        try await DeliveryRig.with(script: script) { rig in
            let result = try await rig.send(rig.message())
            #expect(result == PushResult(outcome: .delivered, attempts: 2, lastStatus: 201))
            let requests = rig.service.requests
            #expect(requests.count == 2)
            if requests.count == 2 {
                #expect(requests[1].arrived - requests[0].arrived >= .seconds(1))
                #expect(requests[1].body == requests[0].body)
            }
        }
    }

    @Test func retryAfterAsAnHTTPDateIsHonoured() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let script: ScriptedPushService.Script = { _, index in
            index == 0 ? .status(503, [("Retry-After", formatter.string(from: Date().addingTimeInterval(2)))]) : .status(201)
        }
        try await DeliveryRig.with(script: script) { rig in
            let result = try await rig.send(rig.message())
            #expect(result == PushResult(outcome: .delivered, attempts: 2, lastStatus: 201))
            let requests = rig.service.requests
            if requests.count == 2 {
                // The date has whole seconds: two seconds ahead is more than one from now.
                #expect(requests[1].arrived - requests[0].arrived >= .seconds(1))
            }
        }
    }

    @Test func serverErrorsFailAfterExactlyFiveRequests() async throws {
        try await DeliveryRig.with(script: { _, _ in .status(500) }) { rig in
            let result = try await rig.send(rig.message())
            #expect(result == PushResult(outcome: .failed, attempts: 5, lastStatus: 500))
            #expect(rig.service.requests.count == 5)
            #expect(rig.attempts.value == [500, 500, 500, 500, 500])
            #expect(rig.results.value == [result])
        }
    }

    @Test func networkErrorsAreRetried() async throws {
        try await DeliveryRig.with(script: { _, index in index < 2 ? .close : .status(201) }) { rig in
            let result = try await rig.send(rig.message())
            #expect(result.outcome == .delivered)
            #expect(result.attempts == 3)
            #expect(rig.service.requests.count == 3)
        }
    }

    @Test func timeoutsAreRetriedAndThenFail() async throws {
        try await DeliveryRig.with(
            requestTimeout: .milliseconds(200), maximumAttempts: 2,
            script: { _, _ in .status(201, after: .seconds(30)) }
        ) { rig in
            let started = ContinuousClock.now
            let result = try await rig.send(rig.message())
            #expect(result.outcome == .failed)
            #expect(result.attempts == 2)
            #expect(result.lastStatus == nil && result.lastError != nil)
            // Well before the answer that never comes in time (30 s): it gave up, it did not
            // wait. The margin is wide because the whole suite shares two cores.
            #expect(ContinuousClock.now - started < .seconds(20))
        }
    }

    @Test func notStillWantedIsAbandonedWithoutAnotherRequest() async throws {
        try await DeliveryRig.with(script: { _, _ in .status(503) }) { rig in
            let result = try await rig.send(rig.message(), stillWanted: { false })
            #expect(result == PushResult(outcome: .abandoned, attempts: 1, lastStatus: 503))
            #expect(rig.service.requests.count == 1)
        }
    }

    @Test func endpointOffTheListIsRefusedWithoutARequest() async throws {
        try await DeliveryRig.with(
            allowing: { "http://127.0.0.1:\($0.port + 1),https://fcm.googleapis.com" }, script: { _, _ in .status(201) }
        ) { rig in
            for endpoint in [rig.service.endpoint(), "http://localhost:\(rig.service.port)/push/1", "not a url"] {
                let result = try await rig.send(rig.message(endpoint: endpoint))
                #expect(result == PushResult(outcome: .refused, attempts: 0))
            }
            #expect(rig.service.requests.isEmpty)
        }
    }

    @Test func anUppercaseSchemeIsRequestedInLowerCaseWithThePathAsGiven() async throws {
        try await DeliveryRig.with(script: { _, _ in .status(201) }) { rig in
            let endpoint = "HTTP" + rig.service.endpoint("/push/AbC").dropFirst("http".count)
            let result = try await rig.send(rig.message(endpoint: endpoint))
            #expect(result == PushResult(outcome: .delivered, attempts: 1, lastStatus: 201))
            #expect(rig.service.requests.map(\.path) == ["/push/AbC"])
        }
    }

    @Test func fullQueueRefusesSubmission() async throws {
        try await DeliveryRig.with(
            maximumConcurrentRequests: 1, queueCapacity: 2, script: { _, _ in .status(201, after: .milliseconds(300)) }
        ) { rig in
            let results = Locked<[PushResult]>([])
            for _ in 0..<3 {
                #expect(rig.delivery.submit(try rig.message()) { result in results.update { $0.append(result) } })
            }
            #expect(rig.delivery.queueDepth == 2)
            #expect(!rig.delivery.submit(try rig.message()) { _ in Issue.record("a refused submission completed") })
            while results.value.count < 3 { try await Task.sleep(for: .milliseconds(20)) }
            #expect(results.value.allSatisfy { $0.outcome == .delivered })
            #expect(rig.delivery.queueDepth == 0)
        }
    }

    @Test func concurrencyNeverExceedsTheBound() async throws {
        try await DeliveryRig.with(
            maximumConcurrentRequests: 4, script: { _, _ in .status(201, after: .milliseconds(200)) }
        ) { rig in
            try await withThrowingTaskGroup(of: PushResult.self) { group in
                for index in 0..<16 {
                    let message = try rig.message(path: "/push/\(index)")
                    group.addTask { try await rig.send(message) }
                }
                for try await result in group { #expect(result.outcome == .delivered) }
            }
            #expect(rig.service.requests.count == 16)
            // Never more than the bound; and more than one at a time, so the bound is what limits.
            #expect(rig.service.maximumInFlight <= 4)
            #expect(rig.service.maximumInFlight >= 2)
        }
    }

    @Test func submitIsSafeFromManyThreadsAtOnce() async throws {
        try await DeliveryRig.with(maximumConcurrentRequests: 8, queueCapacity: 1000, script: { _, _ in .status(201) }) { rig in
            let delivered = Locked(0)
            let messages = try (0..<8).map { thread in try (0..<50).map { try rig.message(path: "/push/\(thread)-\($0)") } }
            let threads = messages.map { batch in
                Thread {
                    for message in batch {
                        rig.delivery.submit(message) { result in
                            if result.outcome == .delivered { delivered.update { $0 += 1 } }
                        }
                    }
                }
            }
            threads.forEach { $0.start() }
            let deadline = ContinuousClock.now + .seconds(30)
            while delivered.value < 400, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
            #expect(delivered.value == 400)
            #expect(rig.service.requests.count == 400)
            #expect(rig.service.maximumInFlight <= 8)
        }
    }

    @Test func waitingRetriesHoldNoSlot() async throws {
        // The dead service asks for 10 minutes: were the waiting retry holding the only slot,
        // the live message could not be sent before then.
        let script: ScriptedPushService.Script = { path, _ in
            path == "/dead" ? .status(503, [("Retry-After", "600")]) : .status(201)
        }
        try await DeliveryRig.with(maximumConcurrentRequests: 1, script: script) { rig in
            let results = Locked<[String: PushResult]>([:])
            for path in ["/dead", "/live"] {
                rig.delivery.submit(try rig.message(path: path)) { result in results.update { $0[path] = result } }
            }
            let deadline = ContinuousClock.now + .seconds(30)
            while results.value["/live"] == nil, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(results.value["/live"]?.outcome == .delivered)
            #expect(rig.delivery.waitingRetryCount == 1)
            await rig.delivery.shutdown(gracePeriod: .seconds(1))
            #expect(results.value["/dead"] == PushResult(outcome: .dropped, attempts: 1, lastStatus: 503))
        }
    }

    @Test func shutdownDropsQueuedAndWaitingMessagesAndRefusesNewOnes() async throws {
        try await DeliveryRig.with(
            maximumConcurrentRequests: 1, script: { path, _ in path == "/slow" ? .status(201, after: .seconds(5)) : .status(500) }
        ) { rig in
            let results = Locked<[String: PushResult]>([:])
            for path in ["/slow", "/queued", "/queued-too"] {
                rig.delivery.submit(try rig.message(path: path)) { result in results.update { $0[path] = result } }
            }
            await rig.delivery.shutdown(gracePeriod: .milliseconds(100))
            let final = results.value
            #expect(final.count == 3)
            #expect(final.values.allSatisfy { $0.outcome == .dropped })
            #expect(final["/slow"]?.attempts == 1)
            #expect(!rig.delivery.submit(try rig.message()) { _ in })
        }
    }
}
