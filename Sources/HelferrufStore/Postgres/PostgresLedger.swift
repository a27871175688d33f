import Dispatch
import HelferrufCore
import HelferrufSync
import PostgresNIO

/// The PostgreSQL engine's ``RosterLedger``: one writer task per node applies everything
/// pending in one transaction (group commit) and answers each requester only after that
/// `COMMIT` returned, with the same semantics as the SQLite ``Ledger``.
///
/// Several nodes may run a ledger on the same database at once. Each batch locks the call
/// rows it touches `FOR UPDATE` in id order (``PostgresRoster/lock(for:)``), so two nodes'
/// batches on the same call take turns and never deadlock, and nothing is cached across
/// batches. The conditional update (`confirmed + party <= needed`) decides, whichever node
/// the accept arrived on.
///
/// Failures: a batch whose transaction fails with a serialisation failure or a deadlock
/// (SQLSTATE class 40) is run again at once, a few times. A change the database refuses on
/// its own (a constraint, class 23) is answered `unavailable` and the batch committed
/// without it. Otherwise (server gone, timeout) every change of the batch is answered
/// `unavailable`; detached changes are kept and tried again with a backoff from 50 ms to
/// 2 s, at most ``Ledger/retryLimit`` of them, as the SQLite ledger does. A commit whose
/// answer was lost with the connection may have committed all the same: its requesters
/// hear `unavailable`, and an accept sent again is answered `confirmed` from the row.
public final class PostgresLedger: RosterLedger {
    private let writer: PostgresWriter
    private let task: Task<Void, Never>

    /// The most changes one transaction takes by default. Bounded, unlike SQLite's: each
    /// accepting volunteer holds an advisory lock until the commit, and PostgreSQL's lock
    /// table is shared and sized by `max_locks_per_transaction` × `max_connections` (a batch of
    /// thousands failed with "out of shared memory" in the benchmark's open loop).
    public static let defaultMaxBatch = 256

    /// - Parameters:
    ///   - maxBatch: the most changes one transaction takes; 1 gives one transaction per
    ///     change (the baseline `scripts/bench-ledger` compares with).
    ///   - node: this process's node id; with one, each batch announces its
    ///     ``ClusterEvent``s to the other nodes with `NOTIFY` before its `COMMIT`.
    public init(
        database: PostgresDatabase, clock: @escaping @Sendable () -> Timestamp, maxBatch: Int = PostgresLedger.defaultMaxBatch,
        maxOverlapping: Int = Ledger.defaultMaxOverlapping, node: String? = nil, onCommit: LedgerCommitHandler? = nil
    ) {
        let writer = PostgresWriter(
            database: database, clock: clock, maxBatch: max(1, maxBatch), maxOverlapping: max(1, maxOverlapping), node: node, onCommit: onCommit)
        self.writer = writer
        task = Task { await writer.run() }
    }

    deinit { writer.stop() }

    public func setCommitHandler(_ handler: @escaping LedgerCommitHandler) { writer.onCommit.withLock { $0 = handler } }

    public func setBatchObserver(_ observer: @escaping LedgerBatchObserver) { writer.observer.withLock { $0 = observer } }

    public var queueDepth: Int { writer.queue.withLock { $0.shared.pending.count } }

    public var statistics: LedgerStatistics { writer.queue.withLock { $0.shared.statistics } }

    public func submit(_ change: RosterChange) async -> RosterOutcome {
        await withCheckedContinuation { continuation in
            writer.enqueue(PendingChange(change: change, continuation: continuation))
        }
    }

    public func submitDetached(_ change: RosterChange) {
        writer.enqueue(PendingChange(change: change, continuation: nil))
    }

    public func waitUntilIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            if !writer.queue.withLock({ $0.shared.waitForIdle(c) }) { c.resume() }
        }
    }
}

/// The ledger's queue and the loop its task runs.
private final class PostgresWriter: Sendable {
    struct Queue {
        var shared = LedgerQueue()
        /// The writer waits for work here.
        var wake: CheckedContinuation<Void, Never>?
    }

    let queue = StateLock(Queue())
    let onCommit: StateLock<LedgerCommitHandler?>
    let observer = StateLock<LedgerBatchObserver?>(nil)
    private let database: PostgresDatabase
    private let clock: @Sendable () -> Timestamp
    private let maxBatch: Int
    private let maxOverlapping: Int
    private let node: String?

    /// How often a batch is run again after a serialisation failure or deadlock.
    private static let conflictRetries = 5

    init(database: PostgresDatabase, clock: @escaping @Sendable () -> Timestamp, maxBatch: Int, maxOverlapping: Int, node: String?, onCommit: LedgerCommitHandler?) {
        self.database = database
        self.node = node
        self.clock = clock
        self.maxBatch = maxBatch
        self.maxOverlapping = maxOverlapping
        self.onCommit = StateLock(onCommit)
    }

    func enqueue(_ p: PendingChange) {
        queue.withLock { q in
            q.shared.pending.append(p)
            return q.wake.take()
        }?.resume()
    }

    func stop() {
        queue.withLock { q in
            q.shared.stopped = true
            return q.wake.take()
        }?.resume()
    }

    /// Wakes the writer if it waits (a retry fell due).
    private func wakeUp() {
        queue.withLock { $0.wake.take() }?.resume()
    }

    func run() async {
        while let batch = await nextBatch() {
            let changes = batch.map(\.change)
            let started = ContinuousClock.now
            let (outcomes, committed) = await commit(changes)
            observer.withLock { $0 }?(changes.count, ContinuousClock.now - started, committed)
            queue.withLock { $0.shared.count(batchOf: changes.count, committed: committed) }
            if committed, let handler = onCommit.withLock({ $0 }) { handler(outcomes) }
            for (p, outcome) in zip(batch, outcomes) { p.continuation?.resume(returning: outcome) }
            scheduleRetry(committed ? [] : batch.filter { $0.continuation == nil })
        }
    }

    /// Keeps the detached changes of a failed batch (``LedgerQueue/keepForRetry(_:)``) and
    /// wakes the writer when they are due.
    private func scheduleRetry(_ detached: [PendingChange]) {
        if let due = queue.withLock({ $0.shared.keepForRetry(detached) }) {
            Task { [weak self] in
                try? await Task.sleep(until: due, clock: .continuous)
                self?.wakeUp()
            }
        }
    }

    /// Everything pending (and the retries that are due), waiting while there is nothing;
    /// nil once stopped and drained.
    private func nextBatch() async -> [PendingChange]? {
        while true {
            switch queue.withLock({ $0.shared.next(maxBatch: maxBatch) }) {
            case .batch(let b): return b
            case .idle(let waiters, let stopped, _):
                for w in waiters { w.resume() }
                if stopped { return nil }
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let ready = queue.withLock { q -> Bool in
                        if q.shared.hasWork { return true }
                        q.wake = c
                        return false
                    }
                    if ready { c.resume() }
                }
            }
        }
    }

    /// Applies the batch in one transaction; see ``PostgresLedger`` for what happens when
    /// it fails.
    private func commit(_ changes: [RosterChange]) async -> (outcomes: [RosterOutcome], committed: Bool) {
        var refused = Set<Int>()
        var conflicts = 0
        var setwise = true
        while refused.count < 3 {
            let now = clock()
            do {
                let outcomes = try await PostgresDatabase.deadline(database.timeout) { [database, maxOverlapping, refused, setwise, node] in
                    try await database.client.withTransaction(logger: database.logger) { conn in
                        var roster = PostgresRoster(conn: conn, logger: database.logger, maxOverlapping: maxOverlapping)
                        try await roster.lock(for: changes.enumerated().filter { !refused.contains($0.offset) }.map(\.element))
                        let effects: [RosterSQL.Effect?]
                        do {
                            effects = try await roster.apply(batch: changes, skipping: refused, setwise: setwise, now: now)
                        } catch let failed as PostgresRoster.ChangeFailed {
                            if let error = failed.error as? PSQLError, error.sqlState?.hasPrefix("23") == true {
                                throw RefusedChange(index: failed.index, error: error)
                            }
                            throw failed.error
                        }
                        let outcomes = zip(changes, effects).map { change, e in
                            e.map {
                                RosterOutcome(
                                    change: change, result: $0.result, call: $0.call, statusChanged: $0.statusChanged, changed: $0.changed,
                                    promoted: $0.promoted, message: $0.message, recipients: $0.recipients)
                            } ?? .unavailable(change)
                        }
                        // Inside the transaction: delivered at COMMIT, and only if it commits.
                        if let node {
                            for payload in ClusterNotice.payloads(node: node, ClusterEvent.events(of: outcomes)) {
                                try await conn.query(PostgresClusterFeed.notify(payload), logger: database.logger)
                            }
                        }
                        return outcomes
                    }
                }
                return (outcomes, true)
            } catch {
                switch Self.failure(error) {
                case .refused(let index):
                    refused.insert(index)
                case .setwiseMismatch where setwise:
                    setwise = false
                case .conflict where conflicts < Self.conflictRetries:
                    conflicts += 1
                default:
                    return (changes.map(RosterOutcome.unavailable), false)
                }
            }
        }
        return (changes.map(RosterOutcome.unavailable), false)
    }

    /// A change of the batch the database refused on its own.
    struct RefusedChange: Error {
        var index: Int
        var error: PSQLError
    }

    enum Failure { case refused(Int), setwiseMismatch, conflict, other }

    /// What a failed transaction means for the batch, through postgres-nio's transaction
    /// wrapper.
    static func failure(_ error: any Error) -> Failure {
        var error = error
        if let wrapped = error as? PostgresTransactionError {
            error = wrapped.closureError ?? wrapped.commitError ?? wrapped.beginError ?? error
        }
        if let refused = error as? RefusedChange { return .refused(refused.index) }
        if error is PostgresRoster.SetwiseMismatch { return .setwiseMismatch }
        if let psql = error as? PSQLError, psql.sqlState?.hasPrefix("40") == true { return .conflict }
        return .other
    }
}

extension PSQLError {
    /// The server's SQLSTATE, when the server answered with an error.
    var sqlState: String? { code == .server ? serverInfo?[.sqlState] : nil }
}
