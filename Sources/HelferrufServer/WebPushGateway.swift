import Foundation
import HelferrufCore
import HelferrufPush
import HelferrufSync
import Logging

/// The hub's ``PushGateway`` as a real Web Push client: one ``HelferrufPush/PushDelivery``
/// (one HTTP client, bounded queue and concurrency) for the whole server.
///
/// `submit` runs under the hub's lock, so it only wraps the job and enqueues it; encryption,
/// signing and the request happen on the delivery's own tasks. The delivery (and its HTTP
/// client) is made on the first job, so a server that never pushes holds no client that
/// would need shutting down; ``shutdown(gracePeriod:)`` ends it and refuses every later job.
public final class WebPushGateway: PushGateway {
    private enum Phase {
        case idle
        case running(HelferrufPush.PushDelivery)
        case closed
    }

    private let makeDelivery: @Sendable () -> HelferrufPush.PushDelivery
    private let phase = StateLock<Phase>(.idle)

    /// - Throws: ``VAPIDSubjectError`` when the context's subject is not a `mailto:` or `https:` URI.
    public init(
        _ context: PushGatewayContext, configuration: HelferrufPush.PushDelivery.Configuration = .init(), logger: Logger
    ) throws {
        let signer = try VAPIDTokenSigner(key: context.vapidKey, subject: context.subject)
        let policy = context.endpoints
        makeDelivery = { HelferrufPush.PushDelivery(signer: signer, policy: policy, configuration: configuration, logger: logger) }
    }

    /// The server's default gateway: a ``WebPushGateway``, or, should the subject not do
    /// for VAPID (`serve` checks it with the same rule first), one that refuses every job.
    @Sendable public static func standard(_ context: PushGatewayContext) -> any PushGateway {
        var logger = Logger(label: "helferruf.push")
        logger.logLevel = context.logLevel
        do {
            return try WebPushGateway(context, logger: logger)
        } catch {
            logger.error("Web Push is off: \(error)")
            return DroppingPushGateway()
        }
    }

    public func submit(_ job: PushJob) -> Bool {
        // Stored keys were checked at subscribe; a row that is not what it should be is refused.
        guard let keys = try? PushSubscriptionKeys(publicKeyX963: job.p256dh, authSecret: job.auth),
            let topic = PushTopic(job.topic),
            let message = try? PushMessage(
                subscription: PushSubscription(endpoint: job.endpoint, keys: keys), payload: Data(job.plaintext),
                ttl: job.ttlSeconds, urgency: job.urgency, topic: topic)
        else { return false }
        let delivery: HelferrufPush.PushDelivery? = phase.withLock { phase in
            switch phase {
            case .running(let delivery): return delivery
            case .closed: return nil
            case .idle:
                let delivery = makeDelivery()
                phase = .running(delivery)
                return delivery
            }
        }
        guard let delivery else { return false }
        let completion = job.completion
        return delivery.submit(message, stillWanted: job.stillWanted) { result in completion(Self.outcome(result.outcome)) }
    }

    /// Waiting for a request slot, in flight, or sleeping until a retry.
    public var queueDepth: Int {
        guard let delivery else { return 0 }
        return delivery.queueDepth + delivery.inFlightCount + delivery.waitingRetryCount
    }

    /// Refuses new jobs; queued ones end `abandoned` at once, requests in flight get
    /// `gracePeriod` to be answered.
    public func shutdown(gracePeriod: Duration) async {
        let delivery: HelferrufPush.PushDelivery? = phase.withLock { phase in
            defer { phase = .closed }
            if case .running(let delivery) = phase { return delivery }
            return nil
        }
        await delivery?.shutdown(gracePeriod: gracePeriod)
    }

    private var delivery: HelferrufPush.PushDelivery? {
        phase.withLock { phase -> HelferrufPush.PushDelivery? in
            if case .running(let delivery) = phase { return delivery }
            return nil
        }
    }

    /// The push client's result as the server counts it: a message dropped because the
    /// server stopped counts as `abandoned`, like one whose call closed.
    static func outcome(_ outcome: PushResult.Outcome) -> PushJobOutcome {
        switch outcome {
        case .delivered: .delivered
        case .gone: .gone
        case .rejected: .rejected
        case .failed: .failed
        case .refused: .refused
        case .abandoned, .dropped: .abandoned
        }
    }
}
