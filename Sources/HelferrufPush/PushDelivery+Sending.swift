import AsyncHTTPClient
import Foundation
import HelferrufCore
import NIOCore

extension PushDelivery {
    /// A submitted message on its way, with what its tries have learnt.
    struct Job: Sendable {
        let message: PushMessage
        let stillWanted: @Sendable () -> Bool
        let completion: @Sendable (PushResult) -> Void
        let submitted: ContinuousClock.Instant
        var attempts = 0
        /// The encrypted body, made on the first try and resent unchanged by retries.
        var body: Data?
        var lastStatus: Int?
        var lastError: String?
    }

    /// Everything the lock guards.
    struct State {
        var accepting = true
        var ready = JobQueue()
        var inFlight = 0
        var nextTaskID: UInt64 = 0
        var attemptTasks: [UInt64: Task<Void, Never>] = [:]
        var retryTasks: [UInt64: Task<Void, Never>] = [:]
    }

    /// What one try leads to.
    enum Step {
        case finished(PushResult.Outcome)
        case retry(after: Duration)
    }

    /// Makes one request for `job` and classifies the answer.
    func send(_ job: inout Job) async -> Step {
        // The endpoint is a capability URL: it is never logged, its origin only once allowed.
        let url = job.message.subscription.endpoint
        guard let origin = policy.origin(of: url) else {
            logger.warning("push endpoint not allowed; nothing sent")
            return .finished(.refused)
        }
        // The policy accepted `http(s)://…` in any case; the request names the scheme in lower case.
        var request = HTTPClientRequest(url: url.prefix { $0 != ":" }.lowercased() + url.drop { $0 != ":" })
        do {
            let body = try job.body ?? WebPushEncryption.encrypt(job.message.payload, for: job.message.subscription.keys)
            job.body = body
            request.method = .POST
            request.headers.add(name: "TTL", value: String(job.message.ttl))
            request.headers.add(name: "Urgency", value: job.message.urgency.rawValue)
            if let topic = job.message.topic { request.headers.add(name: "Topic", value: topic.value) }
            request.headers.add(name: "Content-Encoding", value: "aes128gcm")
            request.headers.add(name: "Content-Type", value: "application/octet-stream")
            request.headers.add(name: "Authorization", value: try signer.authorization(audience: origin))
            request.body = .bytes(ByteBuffer(bytes: body))
        } catch {
            job.lastError = "\(error)"
            return .finished(.failed)
        }

        job.attempts += 1
        let started = ContinuousClock.now
        let answer: (status: Int, retryAfter: String?)
        do {
            answer = try await exchange(request)
            onAttempt?(answer.status, .now - started)
        } catch {
            onAttempt?(nil, .now - started)
            if Task.isCancelled { return .finished(.dropped) }
            job.lastStatus = nil
            job.lastError = "\(error)"
            logger.debug("push request failed", metadata: ["origin": "\(origin)", "error": "\(error)"])
            return retryOrFail(job, retryAfter: nil)
        }

        job.lastStatus = answer.status
        job.lastError = nil
        switch PushAnswer(status: answer.status) {
        case .delivered:
            return .finished(.delivered)
        case .gone:
            return .finished(.gone)
        case .rejected:
            logger.info("push rejected", metadata: ["origin": "\(origin)", "status": "\(answer.status)"])
            return .finished(.rejected)
        case .retry:
            let retryAfter = answer.retryAfter.flatMap { PushRetryPolicy.parseRetryAfter($0, now: Date()) }
            return retryOrFail(job, retryAfter: retryAfter)
        }
    }

    private func retryOrFail(_ job: Job, retryAfter: Duration?) -> Step {
        guard job.attempts < configuration.retry.maximumAttempts else { return .finished(.failed) }
        return .retry(after: configuration.retry.delay(afterAttempt: job.attempts, retryAfter: retryAfter))
    }

    /// Sends `request` and returns the answer's status and `Retry-After`. The client's
    /// deadline covers everything up to the answer's head; the body is then read (up to
    /// 64 KiB, within the same timeout) and dropped, so the connection can serve the next
    /// request. A body that stalls or overflows does not change the answer.
    private func exchange(_ request: HTTPClientRequest) async throws -> (status: Int, retryAfter: String?) {
        let timeout = configuration.requestTimeout
        let response = try await client.execute(request, timeout: TimeAmount(timeout), logger: logger)
        let answer = (Int(response.status.code), response.headers.first(name: "Retry-After"))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await response.body.collect(upTo: 64 * 1024) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return answer
    }
}

/// A first-in, first-out queue of jobs without the cost of `Array.removeFirst`.
struct JobQueue {
    private var items: [PushDelivery.Job] = []
    private var head = 0

    var count: Int { items.count - head }

    mutating func append(_ job: PushDelivery.Job) { items.append(job) }

    mutating func popFirst() -> PushDelivery.Job? {
        guard head < items.count else { return nil }
        let job = items[head]
        head += 1
        if head >= 1024, head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return job
    }

    mutating func removeAll() -> [PushDelivery.Job] {
        let rest = Array(items[head...])
        items = []
        head = 0
        return rest
    }
}

extension TimeAmount {
    /// The same span in NIO's unit (nanoseconds), saturating rather than overflowing.
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self = .nanoseconds(overflow ? .max : whole.addingReportingOverflow(attoseconds / 1_000_000_000).partialValue)
    }
}
