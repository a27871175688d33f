import HelferrufPush
import Synchronization

/// How a push job ended; the gateway reports exactly one per accepted job. These are the
/// `result` labels of `helferruf_push_sent_total`: the push client's `PushResult.Outcome`
/// less its `dropped`, which the server counts as `abandoned` (``WebPushGateway``).
public enum PushJobOutcome: String, Sendable, CaseIterable {
    /// The push service answered 2xx.
    case delivered
    /// 404 or 410: the subscription is dead. The server deletes it at once.
    case gone
    /// Another 4xx (413, 400, 403…): the message will never be accepted as it is.
    case rejected
    /// 429, 5xx or network errors until the tries ran out.
    case failed
    /// The gateway would not send it (not wired, queue full, endpoint not allowed).
    case refused
    /// Given up because `stillWanted` turned false (the call closed) or the server stopped.
    case abandoned
}

/// One Web Push message for one subscription (PROTOCOL.md §8), finished: the push client
/// only encrypts the plaintext (RFC 8291), signs the VAPID token (RFC 8292) and POSTs it.
public struct PushJob: Sendable {
    /// The subscription's endpoint, already checked against `--push-endpoints`.
    public var endpoint: String
    /// The browser's P-256 public key, 65 bytes uncompressed.
    public var p256dh: [UInt8]
    /// The browser's authentication secret, 16 bytes.
    public var auth: [UInt8]
    /// The JSON to encrypt, at most 3,000 bytes.
    public var plaintext: [UInt8]
    /// The `TTL` header: seconds until the call ends, at most 86,400.
    public var ttlSeconds: Int
    /// `high` for alerts, `normal` for the updates that withdraw them.
    public var urgency: PushUrgency
    /// The `Topic` header: at most 32 base64url characters, the same for every message
    /// about one call, so a later message replaces an undelivered earlier one.
    public var topic: String
    /// Asked before each try: false once the message is pointless (the call closed).
    public var stillWanted: @Sendable () -> Bool
    /// Called exactly once with how the job ended, from any thread.
    public var completion: @Sendable (PushJobOutcome) -> Void

    public init(
        endpoint: String, p256dh: [UInt8], auth: [UInt8], plaintext: [UInt8], ttlSeconds: Int, urgency: PushUrgency, topic: String,
        stillWanted: @escaping @Sendable () -> Bool, completion: @escaping @Sendable (PushJobOutcome) -> Void
    ) {
        self.endpoint = endpoint
        self.p256dh = p256dh
        self.auth = auth
        self.plaintext = plaintext
        self.ttlSeconds = ttlSeconds
        self.urgency = urgency
        self.topic = topic
        self.stillWanted = stillWanted
        self.completion = completion
    }
}

/// Where the hub hands finished push jobs: the Web Push client, behind this protocol so
/// that the server does not depend on it.
///
/// The hub calls `submit` while it holds its lock, after a fan-out's socket frames are on
/// their way: it must return at once (queue the job, never send or wait) and must not call
/// back into the server synchronously. The completion may run on any thread, later.
public protocol PushGateway: Sendable {
    /// Takes a job; true when it will be tried (its completion will be called once),
    /// false when refused (its completion is not called; the server counts it `refused`).
    func submit(_ job: PushJob) -> Bool
    /// Jobs waiting or in flight, for `helferruf_push_queue_depth`.
    var queueDepth: Int { get }
    /// Called once when the server stops, after its sockets closed and its last commits
    /// (and so the last retractions) were handed over: refuse new jobs, give requests in
    /// flight `gracePeriod`, and end every other job `abandoned`.
    func shutdown(gracePeriod: Duration) async
}

extension PushGateway {
    public var queueDepth: Int { 0 }
    public func shutdown(gracePeriod: Duration) async {}
}

/// The gateway while no push client is wired in: refuses every job and counts them.
public final class DroppingPushGateway: PushGateway {
    private let count = Atomic<Int>(0)

    public init() {}

    public func submit(_ job: PushJob) -> Bool {
        count.add(1, ordering: .relaxed)
        return false
    }

    /// Jobs dropped so far.
    public var dropped: Int { count.load(ordering: .relaxed) }
}
