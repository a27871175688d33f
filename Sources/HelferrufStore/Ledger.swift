import GRDB
import HelferrufCore
import Synchronization

/// A change to calls and their rosters, applied by the single ledger writer.
public enum RosterChange: Sendable {
    /// Stores a newly posted call.
    case createCall(Call)
    /// A volunteer accepts. `eligible` says the live state found them eligible now or
    /// already alerted; otherwise the stored alert records decide.
    case accept(callId: String, volunteerId: String, eligible: Bool)
    case withdraw(callId: String, volunteerId: String)
    case decline(callId: String, volunteerId: String)
    /// Records that these volunteers were alerted for the call (first alert per volunteer counts).
    case recordAlerts(callId: String, volunteerIds: [String])
    /// The organisation cancels its call.
    case cancel(callId: String, orgId: String)
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
        /// Cancel of a call that has already expired.
        case conflict
        /// The commit failed (disk full, I/O error, lock held too long): nothing changed.
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

}

/// The single writer for everything that changes a call or its roster.
///
/// Changes queue up; one drain loop applies everything pending in one `BEGIN IMMEDIATE`
/// transaction (group commit) with `synchronous=FULL`, and answers each requester only
/// after that commit. A lone change is applied at once, with no timer; under load a batch
/// holds whatever arrived during the previous commit. When a commit fails, every change in
/// the batch is answered ``RosterOutcome/Result/unavailable`` and nothing is applied.
///
/// `onCommit` sees the outcomes of each committed batch in commit order, before any
/// requester is answered: the place to update in-memory views from what was committed.
public final class Ledger: Sendable {
    public typealias CommitHandler = @Sendable ([RosterOutcome]) -> Void

    private struct Pending {
        var change: RosterChange
        var continuation: CheckedContinuation<RosterOutcome, Never>?
    }

    private struct State {
        var pending: [Pending] = []
        var draining = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let pool: DatabasePool
    private let state = Mutex(State())
    private let onCommit: Mutex<CommitHandler?>
    private let clock: @Sendable () -> Timestamp

    public init(store: Store, clock: @escaping @Sendable () -> Timestamp, onCommit: CommitHandler? = nil) {
        self.pool = store.pool
        self.clock = clock
        self.onCommit = Mutex(onCommit)
    }

    /// Sets the handler that sees every committed batch.
    public func setCommitHandler(_ handler: @escaping CommitHandler) {
        onCommit.withLock { $0 = handler }
    }

    /// Applies `change` durably and returns what happened, after the commit.
    public func submit(_ change: RosterChange) async -> RosterOutcome {
        await withCheckedContinuation { continuation in
            enqueue(Pending(change: change, continuation: continuation))
        }
    }

    /// Queues `change` without waiting for its outcome; it is still applied in order.
    public func submitDetached(_ change: RosterChange) {
        enqueue(Pending(change: change, continuation: nil))
    }

    /// Returns once nothing is pending or being committed.
    public func waitUntilIdle() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { s -> Bool in
                if !s.draining && s.pending.isEmpty { return true }
                s.idleWaiters.append(c)
                return false
            }
            if idle { c.resume() }
        }
    }

    private func enqueue(_ p: Pending) {
        let start = state.withLock { s -> Bool in
            s.pending.append(p)
            if s.draining { return false }
            s.draining = true
            return true
        }
        if start {
            Task { await self.drain() }
        }
    }

    private func drain() async {
        while true {
            let batch = state.withLock { s -> [Pending] in
                let b = s.pending
                s.pending.removeAll(keepingCapacity: true)
                return b
            }
            if batch.isEmpty {
                let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>]? in
                    guard s.pending.isEmpty else { return nil }
                    s.draining = false
                    defer { s.idleWaiters.removeAll() }
                    return s.idleWaiters
                }
                guard let waiters else { continue }
                for w in waiters { w.resume() }
                return
            }
            let outcomes = await commit(batch.map(\.change))
            if outcomes.first?.result != .unavailable, let handler = onCommit.withLock({ $0 }) {
                handler(outcomes)
            }
            for (p, outcome) in zip(batch, outcomes) { p.continuation?.resume(returning: outcome) }
        }
    }

    private func commit(_ changes: [RosterChange]) async -> [RosterOutcome] {
        let now = clock()
        do {
            return try await pool.writeWithoutTransaction { db in
                var outcomes: [RosterOutcome] = []
                outcomes.reserveCapacity(changes.count)
                try db.inTransaction(.immediate) {
                    for change in changes {
                        let e = try RosterSQL.apply(change, db: db, now: now)
                        outcomes.append(RosterOutcome(change: change, result: e.result, call: e.call, statusChanged: e.statusChanged, changed: e.changed))
                    }
                    return .commit
                }
                return outcomes
            }
        } catch {
            return changes.map { RosterOutcome(change: $0, result: .unavailable, call: nil, statusChanged: false, changed: false) }
        }
    }
}
