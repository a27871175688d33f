/// A roster change waiting for a ledger's writer, with the requester waiting for its
/// outcome (none for a detached change).
struct PendingChange {
    var change: RosterChange
    var continuation: CheckedContinuation<RosterOutcome, Never>?
}

/// The queue both engines' ledgers (``Ledger``, ``PostgresLedger``) keep behind their lock:
/// what is pending, who waits for idleness, the statistics, and the detached changes of
/// failed batches with their growing backoff. Each engine adds only how its writer sleeps
/// and wakes (a thread on a semaphore, a task on a continuation).
struct LedgerQueue {
    var pending: [PendingChange] = []
    /// A batch is being committed.
    var busy = false
    var stopped = false
    var idleWaiters: [CheckedContinuation<Void, Never>] = []
    var statistics = LedgerStatistics()
    /// Detached changes of failed batches, due again at `retryAt`.
    var retry: [PendingChange] = []
    var retryAt = ContinuousClock.now
    var retryDelayMillis = 0

    enum Next {
        case batch([PendingChange])
        /// Nothing to do: the writer wakes these waiters, then stops or sleeps (until
        /// `retryDue`, when retries are waiting).
        case idle(waiters: [CheckedContinuation<Void, Never>], stopped: Bool, retryDue: ContinuousClock.Instant?)
    }

    /// Everything pending, up to `maxBatch`, with the retries that are due first.
    mutating func next(maxBatch: Int) -> Next {
        if !retry.isEmpty, retryAt <= .now {
            pending.insert(contentsOf: retry, at: 0)
            retry.removeAll()
        }
        if pending.count > maxBatch {
            busy = true
            defer { pending.removeFirst(maxBatch) }
            return .batch(Array(pending.prefix(maxBatch)))
        }
        if !pending.isEmpty {
            busy = true
            defer { pending.removeAll(keepingCapacity: true) }
            return .batch(pending)
        }
        busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        swap(&waiters, &idleWaiters)
        return .idle(waiters: waiters, stopped: stopped, retryDue: retry.isEmpty ? nil : retryAt)
    }

    /// Whether the writer has work now (pending changes, due retries, or a stop).
    var hasWork: Bool { stopped || !pending.isEmpty || (!retry.isEmpty && retryAt <= .now) }

    mutating func count(batchOf changes: Int, committed: Bool) {
        statistics.batches += 1
        statistics.changes += changes
        if !committed { statistics.failedBatches += 1 }
    }

    /// Keeps the detached changes of a failed batch for a later try, with a backoff that
    /// grows from 50 ms to 2 s (at most ``Ledger/retryLimit`` kept, the oldest dropped); a
    /// successful commit resets it. Returns when the new retry is due, if one was scheduled.
    mutating func keepForRetry(_ detached: [PendingChange]) -> ContinuousClock.Instant? {
        guard !detached.isEmpty || !retry.isEmpty else {
            retryDelayMillis = 0
            return nil
        }
        retry.append(contentsOf: detached)
        if retry.count > Ledger.retryLimit {
            statistics.droppedRetries += retry.count - Ledger.retryLimit
            retry.removeFirst(retry.count - Ledger.retryLimit)
        }
        guard !detached.isEmpty else { return nil }
        retryDelayMillis = min(2000, max(50, retryDelayMillis * 2))
        retryAt = .now + .milliseconds(retryDelayMillis)
        return retryAt
    }

    /// Adds `waiter` to those woken when the queue is next idle; false when it is idle now
    /// (the caller resumes it).
    mutating func waitForIdle(_ waiter: CheckedContinuation<Void, Never>) -> Bool {
        if !busy && pending.isEmpty { return false }
        idleWaiters.append(waiter)
        return true
    }
}
