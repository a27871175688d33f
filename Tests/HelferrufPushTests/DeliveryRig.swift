import HelferrufCore
import Foundation
import Logging

@testable import HelferrufPush

/// A delivery talking to a ``ScriptedPushService`` over real loopback sockets.
final class DeliveryRig: Sendable {
    let service: ScriptedPushService
    let delivery: PushDelivery
    let key: VAPIDKey
    let subscriber = TestSubscriber()
    /// The status of every HTTP exchange, as the `onAttempt` hook saw it (nil: no answer).
    let attempts: Locked<[Int?]>
    /// Every result, as the `onResult` hook saw it.
    let results: Locked<[PushResult]>

    /// Runs `body` with a started service and delivery, and stops both afterwards.
    static func with(
        maximumConcurrentRequests: Int = 32, queueCapacity: Int = 100, requestTimeout: Duration = .seconds(10),
        maximumAttempts: Int = 5, allowing origins: ((ScriptedPushService) -> String)? = nil,
        script: @escaping ScriptedPushService.Script,
        _ body: (DeliveryRig) async throws -> Void
    ) async throws {
        let service = try await ScriptedPushService.start(script: script)
        let rig = try DeliveryRig(
            service: service, policy: PushEndpointPolicy(list: origins?(service) ?? service.origin),
            configuration: .init(
                maximumConcurrentRequests: maximumConcurrentRequests, queueCapacity: queueCapacity,
                requestTimeout: requestTimeout,
                retry: PushRetryPolicy(maximumAttempts: maximumAttempts, backoffBase: .milliseconds(10))))
        do {
            try await body(rig)
        } catch {
            await rig.delivery.shutdown(gracePeriod: .zero)
            try await service.stop()
            throw error
        }
        await rig.delivery.shutdown(gracePeriod: .seconds(1))
        try await service.stop()
    }

    private init(
        service: ScriptedPushService, policy: PushEndpointPolicy, configuration: PushDelivery.Configuration
    ) throws {
        let key = VAPIDKey.generate()
        let attempts = Locked<[Int?]>([])
        let results = Locked<[PushResult]>([])
        var logger = Logger(label: "helferruf.push.test")
        logger.logLevel = .error
        self.service = service
        self.key = key
        self.delivery = PushDelivery(
            signer: try VAPIDTokenSigner(key: key, subject: "mailto:ops@helferruf.example"),
            policy: policy, configuration: configuration, logger: logger,
            onAttempt: { status, _ in attempts.update { $0.append(status) } },
            onResult: { result, _ in results.update { $0.append(result) } })
        self.attempts = attempts
        self.results = results
    }

    func message(
        path: String = "/push/1", endpoint: String? = nil, payload: String = #"{"type":"alert","callId":"c-1"}"#,
        ttl: Int = 3600, urgency: PushUrgency = .high, topic: String? = "call-c-1"
    ) throws -> PushMessage {
        try PushMessage(
            subscription: subscriber.subscription(endpoint: endpoint ?? service.endpoint(path)),
            payload: Data(payload.utf8), ttl: ttl, urgency: urgency, topic: topic.flatMap(PushTopic.init))
    }

    struct NotAccepted: Error {}

    /// Submits and waits for the result.
    func send(_ message: PushMessage, stillWanted: @escaping @Sendable () -> Bool = { true }) async throws -> PushResult {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = delivery.submit(message, stillWanted: stillWanted) { continuation.resume(returning: $0) }
            if !accepted { continuation.resume(throwing: NotAccepted()) }
        }
    }
}
