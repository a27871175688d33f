import Dispatch
import Foundation
import GRDB
import HelferrufCore
import HelferrufSync

/// A change to calls and their rosters, applied by the single ledger writer.
public enum RosterChange: Sendable {
    /// Stores a newly posted call.
    case createCall(Call)
    /// A volunteer accepts for a party of `party` people (themselves included). `eligible`
    /// says the live state found them eligible now or already alerted; otherwise the stored
    /// alert records decide.
    case accept(callId: String, volunteerId: String, eligible: Bool, party: Int = 1)
    /// Withdraws a confirmation or leaves the standby list; freed places go to the standby
    /// list in the same transaction.
    case withdraw(callId: String, volunteerId: String)
    case decline(callId: String, volunteerId: String)
    /// Records that these volunteers were alerted for the call (first alert per volunteer counts).
    case recordAlerts(callId: String, volunteerIds: [String])
    /// A wave of a `waves` call: the radius it reached and the volunteers it alerted.
    case recordWave(callId: String, reachedRadiusKm: Double, volunteerIds: [String])
    /// Volunteers whose alert for the call their fatigue limits held back.
    case recordSuppressed(callId: String, volunteerIds: [String], reason: SuppressionReason)
    /// A client reported an alert received or shown (counted only for alerted volunteers).
    case funnel(callId: String, volunteerId: String, stage: FunnelStage)
    /// A confirmed volunteer arrives (`arrived`) or leaves.
    case checkin(callId: String, volunteerId: String, arrived: Bool)
    /// The organisation writes to the call's confirmed helpers.
    case postMessage(callId: String, orgId: String, text: String)
    /// The organisation cancels its call.
    case cancel(callId: String, orgId: String)
    /// The organisation removes a confirmed helper from its call (PROTOCOL.md §11): the
    /// confirmation ends as if withdrawn, and the helper cannot accept that call again.
    case remove(callId: String, orgId: String, volunteerId: String)
    /// The call's end time has passed.
    case expire(callId: String)
}

/// What the ledger did with one change.
public struct RosterOutcome: Sendable {
    public enum Result: Sendable, Equatable {
        /// Answer to an accept or withdraw.
        case answer(AcceptResult)
        /// Applied (create, decline, alerts, cancel, expire), or nothing to do.
        case done
        case notFound
        /// Cancel of a call that has already expired; a message after the call's window; a
        /// removal from a call that has ended.
        case conflict
        /// The change breaks a rule (a check-in without a confirmation).
        case invalid(String)
        /// The commit failed (disk full, I/O error, lock held too long), or the database
        /// refused this change: nothing of it was stored.
        case unavailable
    }

    /// The change this outcome answers.
    public var change: RosterChange
    public var result: Result
    /// The call as committed after this change; nil when not found or not committed.
    public var call: Call?
    /// The call's status changed with this change.
    public var statusChanged: Bool
    /// Any of the call's figures (status, confirmed, alerted, declined) changed.
    public var changed: Bool
    /// Volunteers confirmed from the standby list by this change.
    public var promoted: [String] = []
    /// A message this change stored (posted, or the close-out summary of an expiry), and
    /// the confirmed volunteers it is for.
    public var message: CallMessage?
    public var recipients: [String] = []

    static func unavailable(_ change: RosterChange) -> RosterOutcome {
        RosterOutcome(change: change, result: .unavailable, call: nil, statusChanged: false, changed: false)
    }
}

/// The SQLite engine's ``RosterLedger``: the single writer for everything that changes a
/// call or its roster.
///
/// Changes queue up; one dedicated thread applies everything pending in one
/// `BEGIN IMMEDIATE` transaction (group commit) with `synchronous=FULL`, and answers each
/// requester only after that commit. A lone change is applied at once, with no timer;
/// under load a batch holds whatever arrived during the previous commit. A thread rather
/// than a task: the commit blocks in `fsync`, which must not occupy the few threads of
/// Swift's cooperative pool, and waking a parked thread is cheaper than scheduling a task
/// plus GRDB's own writer queue for every batch.
///
/// When a commit fails, every change in the batch is answered
/// ``RosterOutcome/Result/unavailable`` and nothing is applied; the next batch tries again,
/// so the ledger recovers by itself once the cause (full disk, held lock) is gone. Changes
/// nobody waits for (alert records, expiries, funnel reports: ``submitDetached(_:)``) are
/// not lost with the batch: they are tried again with the next batches, after a backoff
/// that grows from 50 ms to 2 s while commits keep failing, at most
/// ``Ledger/retryLimit`` of them (the oldest are dropped beyond that). A change
/// the database refuses on its own (a constraint) is answered `unavailable` and the rest of
/// its batch is committed without it.
///
/// `onCommit` sees the outcomes of each committed batch in commit order, before any
/// requester is answered: the place to update in-memory views from what was committed.
public final class Ledger: RosterLedger {
    private let writer: Writer

    /// The most detached changes kept for another try after failed commits.
    public static let retryLimit = 100_000

    /// `--max-overlapping`'s default (PROTOCOL.md §11).
    public static let defaultMaxOverlapping = 3

    /// - Parameter maxBatch: the most changes one transaction takes. 1 gives one transaction
    ///   per change: the baseline `scripts/bench-ledger` compares group commit with.
    /// - Parameter maxOverlapping: the most confirmations and standby places one volunteer
    ///   may hold on live calls whose time windows overlap (PROTOCOL.md §11).
    public init(
        store: Store, clock: @escaping @Sendable () -> Timestamp, maxBatch: Int = .max, maxOverlapping: Int = Ledger.defaultMaxOverlapping,
        onCommit: LedgerCommitHandler? = nil
    ) {
        writer = Writer(pool: store.pool, clock: clock, maxBatch: max(1, maxBatch), maxOverlapping: max(1, maxOverlapping), onCommit: onCommit)
        let thread = Thread { [writer] in writer.run() }
        thread.name = "helferruf-ledger"
        thread.start()
    }

    deinit { writer.stop() }

    /// Sets the handler that sees every committed batch.
    public func setCommitHandler(_ handler: @escaping LedgerCommitHandler) {
        writer.onCommit.withLock { $0 = handler }
    }

    public func setBatchObserver(_ observer: @escaping LedgerBatchObserver) {
        writer.observer.withLock { $0 = observer }
    }

    /// Changes waiting for the writer.
    public var queueDepth: Int { writer.queue.withLock { $0.shared.pending.count } }

    /// Applies `change` durably and returns what happened, after the commit.
    public func submit(_ change: RosterChange) async -> RosterOutcome {
        await withCheckedContinuation { continuation in
            writer.enqueue(PendingChange(change: change, continuation: continuation))
        }
    }

    /// Queues `change` without waiting for its outcome; it is still applied in order.
    public func submitDetached(_ change: RosterChange) {
        writer.enqueue(PendingChange(change: change, continuation: nil))
    }

    /// Returns once nothing is pending or being committed.
    public func waitUntilIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if !writer.queue.withLock({ $0.shared.waitForIdle(c) }) { c.resume() }
        }
    }

    public var statistics: LedgerStatistics { writer.queue.withLock { $0.shared.statistics } }
}

/// The ledger's queue and the loop its thread runs.
private final class Writer: Sendable {
    struct Queue {
        var shared = LedgerQueue()
        /// The thread waits on `wake`.
        var sleeping = false
    }

    let queue = StateLock(Queue())
    let onCommit: StateLock<LedgerCommitHandler?>
    let observer = StateLock<LedgerBatchObserver?>(nil)
    private let wake = DispatchSemaphore(value: 0)
    private let pool: DatabasePool
    private let clock: @Sendable () -> Timestamp
    private let maxBatch: Int
    private let maxOverlapping: Int

    init(pool: DatabasePool, clock: @escaping @Sendable () -> Timestamp, maxBatch: Int, maxOverlapping: Int, onCommit: LedgerCommitHandler?) {
        self.pool = pool
        self.clock = clock
        self.maxBatch = maxBatch
        self.maxOverlapping = maxOverlapping
        self.onCommit = StateLock(onCommit)
    }

    func enqueue(_ p: PendingChange) {
        let sleeping = queue.withLock { q -> Bool in
            q.shared.pending.append(p)
            defer { q.sleeping = false }
            return q.sleeping
        }
        if sleeping { wake.signal() }
    }

    /// Lets the thread finish what is pending and exit.
    func stop() {
        let sleeping = queue.withLock { q -> Bool in
            q.shared.stopped = true
            defer { q.sleeping = false }
            return q.sleeping
        }
        if sleeping { wake.signal() }
    }

    func run() {
        var sql = RosterSQL(maxOverlapping: maxOverlapping)
        while let batch = nextBatch() {
            let changes = batch.map(\.change)
            let started = ContinuousClock.now
            let (outcomes, committed) = commit(changes, &sql)
            observer.withLock { $0 }?(changes.count, ContinuousClock.now - started, committed)
            queue.withLock { $0.shared.count(batchOf: changes.count, committed: committed) }
            if committed, let handler = onCommit.withLock({ $0 }) { handler(outcomes) }
            for (p, outcome) in zip(batch, outcomes) { p.continuation?.resume(returning: outcome) }
            // The thread sleeps until a due retry by itself (nextBatch).
            _ = queue.withLock { $0.shared.keepForRetry(committed ? [] : batch.filter { $0.continuation == nil }) }
        }
    }

    /// Everything pending (and the retries that are due), waiting while there is nothing;
    /// nil once stopped and drained.
    private func nextBatch() -> [PendingChange]? {
        while true {
            let next = queue.withLock { q -> LedgerQueue.Next in
                let next = q.shared.next(maxBatch: maxBatch)
                if case .idle(_, false, _) = next { q.sleeping = true }
                return next
            }
            switch next {
            case .batch(let b): return b
            case .idle(let waiters, let stopped, let retryDue):
                for w in waiters { w.resume() }
                if stopped { return nil }
                if let retryDue {
                    let wait = max(.zero, retryDue - .now).components
                    let until = DispatchTime.now() + .nanoseconds(Int(wait.seconds) * 1_000_000_000 + Int(wait.attoseconds / 1_000_000_000))
                    if wake.wait(timeout: until) == .timedOut { queue.withLock { $0.sleeping = false } }
                } else {
                    wake.wait()
                }
            }
        }
    }

    /// Applies the batch in one transaction. A change that violates a constraint on its own
    /// is set aside and the batch retried without it (a few times at most), so one bad
    /// change cannot fail everyone else's.
    private func commit(_ changes: [RosterChange], _ sql: inout RosterSQL) -> (outcomes: [RosterOutcome], committed: Bool) {
        var refused = Set<Int>()
        for _ in 0..<3 {
            let now = clock()
            var outcomes = [RosterOutcome?](repeating: nil, count: changes.count)
            var funnels = FunnelGroups()
            var culprit: Int?
            do {
                try pool.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        func applyFunnels() throws {
                            guard !funnels.isEmpty else { return }
                            do {
                                try funnels.apply(changes, into: &outcomes, sql: &sql, db: db, now: now)
                            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                                culprit = funnels.firstIndex
                                throw error
                            }
                        }
                        for (i, change) in changes.enumerated() {
                            if refused.contains(i) {
                                outcomes[i] = .unavailable(change)
                                continue
                            }
                            if case .funnel(let callId, let volunteerId, let stage) = change {
                                funnels.add(i, callId: callId, volunteerId: volunteerId, stage: stage)
                                continue
                            }
                            try applyFunnels()
                            do {
                                let e = try sql.apply(change, db: db, now: now)
                                outcomes[i] = RosterOutcome(
                                    change: change, result: e.result, call: e.call, statusChanged: e.statusChanged, changed: e.changed,
                                    promoted: e.promoted, message: e.message, recipients: e.recipients)
                            } catch let error as DatabaseError where error.resultCode == .SQLITE_CONSTRAINT {
                                culprit = i
                                throw error
                            }
                        }
                        try applyFunnels()
                        return .commit
                    }
                }
                return (outcomes.map { $0! }, true)
            } catch {
                sql.forgetCalls()
                guard let culprit else { break }
                refused.insert(culprit)
            }
        }
        return (changes.map(RosterOutcome.unavailable), false)
    }
}
