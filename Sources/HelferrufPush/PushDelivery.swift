import AsyncHTTPClient
import Foundation
import HelferrufCore
import Logging
import NIOCore

/// Sends Web Push messages (RFC 8030) for the whole server over one HTTP client.
///
/// ``submit(_:stillWanted:completion:)`` only enqueues: it never blocks and never waits for the
/// network, so it can be called from an event loop or while a socket fan-out is running. A
/// bounded number of requests are in flight at once; the rest wait in a bounded queue, and
/// `submit` returns false when that is full. Each message's end is reported once, to its own
/// completion closure, as a ``PushResult``.
///
/// Answers that may change (429, 5xx, network errors, timeouts) are retried with backoff
/// (``PushRetryPolicy``). A message waiting for its retry holds no request slot, so a dead push
/// service slows down only the messages addressed to it. Before every request the endpoint is
/// checked against the ``PushEndpointPolicy`` again; redirects are never followed.
///
/// Call ``shutdown(gracePeriod:)`` before dropping the last reference: it ends the HTTP client.
///
/// ```swift
/// let delivery = PushDelivery(
///     signer: try VAPIDTokenSigner(key: storedKey, subject: "mailto:ops@example.org"),
///     policy: try PushEndpointPolicy(list: pushEndpoints),
///     onResult: { result, _ in sent.increment(result: result.outcome.rawValue) })
/// let message = try PushMessage(
///     subscription: subscription, payload: alertJSON, ttl: secondsUntilEnd,
///     urgency: .high, topic: PushTopic(digestOf: callID))
/// delivery.submit(message, stillWanted: { call.isOpen }) { result in
///     if result.outcome == .gone { deleteSubscription(subscription.endpoint) }
/// }
/// ```
public final class PushDelivery: Sendable {
    /// Limits and timings.
    public struct Configuration: Sendable {
        /// Requests in flight at most.
        public var maximumConcurrentRequests: Int
        /// Messages waiting for a request slot at most; ``PushDelivery/submit(_:stillWanted:completion:)``
        /// refuses more. Messages coming back for a retry are let in regardless.
        public var queueCapacity: Int
        /// The longest one request may take, connection, answer and body included.
        public var requestTimeout: Duration
        /// When and how often to try again.
        public var retry: PushRetryPolicy

        public init(
            maximumConcurrentRequests: Int = 32, queueCapacity: Int = 10_000,
            requestTimeout: Duration = .seconds(10), retry: PushRetryPolicy = PushRetryPolicy()
        ) {
            self.maximumConcurrentRequests = max(1, maximumConcurrentRequests)
            self.queueCapacity = max(0, queueCapacity)
            self.requestTimeout = max(.milliseconds(1), requestTimeout)
            self.retry = retry
        }
    }

    /// Called after every HTTP exchange with the status (nil for a network error or timeout)
    /// and how long it took: the server's request-latency histogram.
    public typealias AttemptObserver = @Sendable (_ status: Int?, _ duration: Duration) -> Void
    /// Called once per message with its result and the time from submission: the server's
    /// `helferruf_push_sent_total{result}`.
    public typealias ResultObserver = @Sendable (_ result: PushResult, _ sinceSubmission: Duration) -> Void

    let client: HTTPClient
    let signer: VAPIDTokenSigner
    let policy: PushEndpointPolicy
    let configuration: Configuration
    let logger: Logger
    let onAttempt: AttemptObserver?
    let onResult: ResultObserver?
    let state = LockedState(State())

    /// The HTTP client is made here rather than taken from the caller because its
    /// configuration is part of the safety: it never follows redirects (a push service
    /// answering 3xx must not send the server elsewhere), and async-http-client does not let
    /// a caller's client be checked for that.
    ///
    /// - Parameters:
    ///   - signer: makes the VAPID `Authorization` header.
    ///   - policy: the push services that may be called.
    ///   - eventLoopGroup: where the HTTP client runs (HTTP/2 is negotiated over TLS).
    ///   - onAttempt: observes each HTTP exchange; keep it cheap, it runs on the send path.
    ///   - onResult: observes each message's end, next to its completion.
    public init(
        signer: VAPIDTokenSigner,
        policy: PushEndpointPolicy,
        configuration: Configuration = Configuration(),
        eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup,
        logger: Logger = Logger(label: "helferruf.push"),
        onAttempt: AttemptObserver? = nil,
        onResult: ResultObserver? = nil
    ) {
        var clientConfiguration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(configuration.requestTimeout), read: TimeAmount(configuration.requestTimeout)))
        clientConfiguration.decompression = .disabled
        // Over HTTP/1.1 (a plain-http test service) every request in flight needs a connection.
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit =
            configuration.maximumConcurrentRequests
        self.client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: clientConfiguration)
        self.signer = signer
        self.policy = policy
        self.configuration = configuration
        self.logger = logger
        self.onAttempt = onAttempt
        self.onResult = onResult
    }

    /// Queues a message. Cheap and non-blocking; callable from any thread.
    ///
    /// - Parameters:
    ///   - stillWanted: asked before each retry; false ends the message as `abandoned`
    ///     (e.g. the call has closed, so a late alert would only confuse).
    ///   - completion: receives the result exactly once, on an arbitrary thread.
    /// - Returns: false, and `completion` is never called, when the queue is full or the
    ///   delivery is shutting down.
    @discardableResult
    public func submit(
        _ message: PushMessage,
        stillWanted: @escaping @Sendable () -> Bool = { true },
        completion: @escaping @Sendable (PushResult) -> Void
    ) -> Bool {
        let job = Job(message: message, stillWanted: stillWanted, completion: completion, submitted: .now)
        return state.withLock { state in
            guard state.accepting, state.ready.count < configuration.queueCapacity else { return false }
            state.ready.append(job)
            startReadyJobs(&state)
            return true
        }
    }

    /// Messages waiting for a request slot (the queue-depth gauge).
    public var queueDepth: Int { state.withLock { $0.ready.count } }

    /// Requests in flight now.
    public var inFlightCount: Int { state.withLock { $0.inFlight } }

    /// Messages sleeping until their next try.
    public var waitingRetryCount: Int { state.withLock { $0.retryTasks.count } }

    /// Stops accepting messages and ends the HTTP client.
    ///
    /// Queued messages and those waiting for a retry end as `dropped` at once; requests in
    /// flight get `gracePeriod` to finish and are cancelled after it (also `dropped`, unless
    /// their answer came). Every completion has been called when this returns. Calls after
    /// the first return at once. Cancelling the caller does not shorten the grace period.
    public func shutdown(gracePeriod: Duration = .seconds(5)) async {
        let stopping: (queued: [Job], retries: [Task<Void, Never>])? = state.withLock { state in
            guard state.accepting else { return nil }
            state.accepting = false
            return (state.ready.removeAll(), Array(state.retryTasks.values))
        }
        guard let (queued, retries) = stopping else { return }
        for job in queued { finish(job, .dropped) }
        for task in retries { task.cancel() }
        // Waits in a task of its own: a cancelled caller's sleeps would return at once and
        // turn the waits into busy loops.
        await Task { await self.drain(gracePeriod: gracePeriod) }.value
        do {
            try await client.shutdown()
        } catch {
            logger.warning("push HTTP client did not shut down cleanly", metadata: ["error": "\(error)"])
        }
    }

    /// Waits up to `gracePeriod` for requests in flight, cancels the rest, and waits until
    /// every task has ended.
    private func drain(gracePeriod: Duration) async {
        let clock = ContinuousClock()
        let deadline = clock.now + gracePeriod
        while state.withLock({ !$0.attemptTasks.isEmpty }), clock.now < deadline {
            try? await clock.sleep(for: .milliseconds(10))
        }
        for task in state.withLock({ Array($0.attemptTasks.values) }) { task.cancel() }
        while state.withLock({ !$0.attemptTasks.isEmpty || !$0.retryTasks.isEmpty }) {
            try? await clock.sleep(for: .milliseconds(10))
        }
    }

    /// Starts queued jobs while request slots are free. Called with the lock held.
    func startReadyJobs(_ state: inout State) {
        while state.inFlight < configuration.maximumConcurrentRequests, let job = state.ready.popFirst() {
            state.inFlight += 1
            let id = state.nextTaskID
            state.nextTaskID += 1
            // Created under the lock, so the entry exists before the task can remove it.
            state.attemptTasks[id] = Task {
                await self.attempt(job)
                self.state.withLock { _ = $0.attemptTasks.removeValue(forKey: id) }
            }
        }
    }

    /// One try of `job`, then either its end or a scheduled retry.
    private func attempt(_ job: Job) async {
        var job = job
        let step = await send(&job)
        let accepted: Bool = state.withLock { state in
            state.inFlight -= 1
            defer { startReadyJobs(&state) }
            guard case .retry(let delay) = step, state.accepting else { return false }
            let id = state.nextTaskID
            state.nextTaskID += 1
            state.retryTasks[id] = Task { [job] in
                await self.retry(job, after: delay)
                self.state.withLock { _ = $0.retryTasks.removeValue(forKey: id) }
            }
            return true
        }
        switch step {
        case .finished(let outcome): finish(job, outcome)
        case .retry where !accepted: finish(job, .dropped)
        case .retry: break
        }
    }

    /// Sleeps without a request slot, then queues `job` again if it is still wanted.
    private func retry(_ job: Job, after delay: Duration) async {
        do {
            try await Task.sleep(for: delay)
        } catch {
            return finish(job, .dropped)
        }
        guard job.stillWanted() else { return finish(job, .abandoned) }
        let queued: Bool = state.withLock { state in
            guard state.accepting else { return false }
            state.ready.append(job)
            startReadyJobs(&state)
            return true
        }
        if !queued { finish(job, .dropped) }
    }

    /// Reports the end of `job` to its completion and the observer.
    func finish(_ job: Job, _ outcome: PushResult.Outcome) {
        let result = PushResult(
            outcome: outcome, attempts: job.attempts, lastStatus: job.lastStatus, lastError: job.lastError)
        onResult?(result, ContinuousClock.now - job.submitted)
        job.completion(result)
    }
}
