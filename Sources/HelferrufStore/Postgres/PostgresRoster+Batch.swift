import HelferrufCore
import PostgresNIO

/// A batch's changes applied in order, with its accepts decided set-wise.
///
/// Applying one accept after the other costs two to four round trips each (the §11 checks,
/// the conditional update). Here every run of consecutive accepts costs two: one statement
/// reads the facts ``accept(_:_:eligible:party:now:)`` would read, for all of them at once
/// (``AcceptFacts``); the accepts are then decided in batch order in memory from those facts
/// and the locked call rows, exactly as the per-change path decides them, and one statement
/// stores all the confirmations and takes their places (``storeConfirmations(_:now:)``).
///
/// The decision in memory is exact because the transaction holds every row it depends on:
/// the call rows (`FOR UPDATE`) and each accepting volunteer's advisory lock, so no other
/// node can confirm, queue or add places meanwhile (``lock(for:)``). The database still has
/// the last word: the store statement carries the conditional update, the primary key and
/// the `confirmed <= needed` CHECK, and a disagreement with the decision in memory fails the
/// batch with ``SetwiseMismatch``, which the ledger answers by running it again change by
/// change.
///
/// An accept the facts cannot settle without a write of its own (one that joins the standby
/// list, a call that expires now or was not locked) takes the per-change path at its place in
/// the batch: the confirmations decided before it are stored first, and the facts of the same
/// volunteer's later accepts are read again (nobody else's facts can change through it).
extension PostgresRoster {
    /// The set-wise write found the database in another state than the decision in memory
    /// assumed; nothing of the batch may commit.
    struct SetwiseMismatch: Error {}

    /// A change of the batch failed with a database error of its own (e.g. a constraint).
    struct ChangeFailed: Error {
        var index: Int
        var error: any Error
    }

    /// Applies `changes` in order, skipping the indices in `skipping` (answered nil); with
    /// `setwise` false every accept takes the per-change path. A change that fails on its own
    /// comes out as ``ChangeFailed`` with its index; a failure of the set-wise write as
    /// ``SetwiseMismatch``.
    mutating func apply(batch changes: [RosterChange], skipping: Set<Int>, setwise: Bool, now: Timestamp) async throws -> [Effect?] {
        var effects = [Effect?](repeating: nil, count: changes.count)
        var accepts: [Int] = []
        for (i, change) in changes.enumerated() where !skipping.contains(i) {
            if setwise, case .accept = change {
                accepts.append(i)
                continue
            }
            try await decide(accepts, of: changes, into: &effects, now: now)
            accepts.removeAll()
            effects[i] = try await applyAlone(change, index: i, now: now)
        }
        try await decide(accepts, of: changes, into: &effects, now: now)
        return effects
    }

    private mutating func applyAlone(_ change: RosterChange, index: Int, now: Timestamp) async throws -> Effect {
        do {
            return try await apply(change, now: now)
        } catch let error as PSQLError {
            throw ChangeFailed(index: index, error: error)
        }
    }

    /// Decides a run of consecutive accepts (`indices` into `changes`).
    private mutating func decide(_ indices: [Int], of changes: [RosterChange], into effects: inout [Effect?], now: Timestamp) async throws {
        guard !indices.isEmpty else { return }
        let accepts = indices.compactMap { PendingAccept(changes[$0]) }
        var facts = try await AcceptFacts.read(accepts, roster: self, now: now)
        var run = RunState()
        for (k, accept) in accepts.enumerated() {
            if let effect = decideInMemory(accept, facts[k], &run, now: now) {
                effects[indices[k]] = effect
                continue
            }
            // The per-change path, after the confirmations decided so far are stored. It
            // writes only this volunteer's rows (and the call's, which it remembers), so only
            // the facts of this volunteer's later accepts are read again.
            try await storeConfirmations(run.confirmations, now: now)
            run.confirmations.removeAll()
            effects[indices[k]] = try await applyAlone(changes[indices[k]], index: indices[k], now: now)
            let vid = accept.volunteerId
            run.confirmedOn[vid] = nil
            let again = accepts.indices.filter { $0 > k && accepts[$0].volunteerId == vid }
            if !again.isEmpty {
                let fresh = try await AcceptFacts.read(again.map { accepts[$0] }, roster: self, now: now)
                for (j, f) in zip(again, fresh) { facts[j] = f }
            }
        }
        try await storeConfirmations(run.confirmations, now: now)
    }

    /// What an accept asks for.
    struct PendingAccept {
        var callId: String
        var volunteerId: String
        var eligible: Bool
        var party: Int

        init?(_ change: RosterChange) {
            guard case .accept(let callId, let volunteerId, let eligible, let party) = change else { return nil }
            (self.callId, self.volunteerId, self.eligible, self.party) = (callId, volunteerId, eligible, party)
        }
    }

    /// The confirmations decided in memory since the facts were read, not stored yet.
    private struct RunState {
        var confirmations: [PendingAccept] = []
        /// The calls each volunteer was confirmed on in this run.
        var confirmedOn: [String: [String]] = [:]
    }

    /// The per-change path's decision (``accept(_:_:eligible:party:now:)``) from the facts
    /// read at the start of the run, plus what the run confirmed since; nil when the accept
    /// needs the per-change path.
    private mutating func decideInMemory(_ a: PendingAccept, _ facts: AcceptFacts?, _ run: inout RunState, now: Timestamp) -> Effect? {
        guard var call = calls[a.callId], let facts else { return nil }
        if !call.status.isEnded && call.endsAt <= now { return nil } // it expires now: a close-out to store
        let ended = call.status.isEnded
        let earlier = run.confirmedOn[a.volunteerId] ?? []
        let already = facts.alreadyConfirmed || earlier.contains(a.callId)
        let barred = !ended && facts.barred
        let overlapping = facts.overlapping + earlier.count(where: { other in
            other != a.callId && calls[other].map { Self.overlaps($0, call, now: now) } ?? false
        })
        let overLimitCheck = !ended && overlapping >= maxOverlapping
        let likelyRoom = !barred && a.eligible && call.status == .open && call.confirmed + a.party <= call.needed && call.standby == 0
        if !likelyRoom || overLimitCheck {
            let queued = !already && call.standby > 0 && facts.onStandby
            let alerted = !barred && (a.eligible || (!already && !ended && facts.alerted))
            let overLimit = !already && !queued && alerted && !ended && overLimitCheck
            let decision = FillRules.decideAccept(
                alreadyConfirmed: already, onStandby: queued, status: call.status, eligibleOrAlerted: alerted, overLimit: overLimit,
                confirmed: call.confirmed, needed: call.needed, party: a.party, standbyEnabled: call.standbyEnabled)
            if decision == .standby && !queued { return nil } // it joins the standby list
            guard decision == .confirmed, !already else { return .unchanged(.answer(decision), call, expired: false) }
        }
        if already { return .unchanged(.answer(.confirmed), call, expired: false) }
        guard call.status == .open, call.confirmed + a.party <= call.needed else { return nil }
        let before = call.status
        call.confirmed += a.party
        if call.confirmed >= call.needed { call.status = .filled }
        remember(call)
        run.confirmations.append(a)
        run.confirmedOn[a.volunteerId, default: []].append(a.callId)
        return Effect(result: .answer(.confirmed), call: call, statusChanged: call.status != before, changed: true)
    }

    /// Whether a place on `other` counts against the overlap limit for `call`, as in
    /// ``rules(_:_:now:)``: a live call whose window overlaps (windows that only touch do not).
    static func overlaps(_ other: Call, _ call: Call, now: Timestamp) -> Bool {
        (other.status == .open || other.status == .filled)
            && other.startsAt.millis < call.endsAt.millis && other.endsAt.millis > call.startsAt.millis && other.endsAt.millis > now.millis
    }

    /// Stores the confirmations and takes their places call by call, in one statement,
    /// with the per-change path's guards; checks that the database's counts and statuses
    /// are those decided in memory.
    private func storeConfirmations(_ confirmations: [PendingAccept], now: Timestamp) async throws {
        guard !confirmations.isEmpty else { return }
        let statement = StoreConfirmationsStatement(
            callIds: confirmations.map(\.callId), volunteerIds: confirmations.map(\.volunteerId), parties: confirmations.map(\.party),
            at: now.millis)
        var rows: [(String, Int, String)] = []
        do {
            for try await row in try await conn.execute(statement, logger: logger) { rows.append(row) }
        } catch let error as PSQLError where error.sqlState?.hasPrefix("23") == true {
            throw SetwiseMismatch() // a constraint the decision in memory should have kept
        }
        guard rows.count == Set(confirmations.map(\.callId)).count else { throw SetwiseMismatch() }
        for (id, confirmed, status) in rows {
            guard let call = calls[id], call.confirmed == confirmed, call.status.rawValue == status else { throw SetwiseMismatch() }
        }
    }
}

/// What the per-change accept reads about one (call, volunteer) pair, read for a whole run
/// of accepts in one statement.
struct AcceptFacts {
    /// The call's organisation blocked the volunteer, or removed them from this call.
    var barred: Bool
    /// Confirmations and standby places the volunteer holds on other live calls whose window
    /// overlaps this call's.
    var overlapping: Int
    var alreadyConfirmed: Bool
    var onStandby: Bool
    var alerted: Bool

    /// The facts of each accept, in order; nil for one whose call the transaction does not
    /// hold locked (the per-change path locks it, or finds it missing).
    static func read(_ accepts: [PostgresRoster.PendingAccept], roster: PostgresRoster, now: Timestamp) async throws -> [AcceptFacts?] {
        let statement = AcceptFactsStatement(callIds: accepts.map(\.callId), volunteerIds: accepts.map(\.volunteerId), now: now.millis)
        var rows: [AcceptFactsStatement.Row] = []
        for try await row in try await roster.conn.execute(statement, logger: roster.logger) { rows.append(row) }
        var facts = [AcceptFacts?](repeating: nil, count: accepts.count)
        for (n, barred, overlapping, already, queued, alerted) in rows {
            guard roster.calls[accepts[n - 1].callId] != nil else { continue }
            facts[n - 1] = AcceptFacts(barred: barred, overlapping: overlapping, alreadyConfirmed: already, onStandby: queued, alerted: alerted)
        }
        return facts
    }
}
