import Foundation
import GRDB
import HelferrufCore
import Synchronization
import Testing
@testable import HelferrufStore

/// Every committed outcome, in commit order.
private final class Committed: Sendable {
    let outcomes = Mutex<[RosterOutcome]>([])
}

/// A batch's `received` and `seen` answers are applied per call and stage in one statement
/// (``FunnelGroups``); they must count exactly as one change at a time did: once per
/// alerted volunteer and stage, each answer with its own outcome, in place among the
/// batch's other changes.
@Suite struct FunnelBatchTests {
    private func counts(_ t: TestDatabase, _ cid: String) throws -> (delivered: Int, seen: Int, rows: Int) {
        try t.store.pool.read { db in
            let row = try Row.fetchOne(db, sql: "SELECT delivered, seen FROM calls WHERE id = ?", arguments: [cid])!
            let rows = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM funnel WHERE call_id = ?", arguments: [cid])!
            return (row["delivered"], row["seen"], rows)
        }
    }

    @Test func oneBatchCountsEachAlertedVolunteerOncePerStage() async throws {
        let t = try TestDatabase()
        let seen = Committed()
        let ledger = t.ledger { outcomes in seen.outcomes.withLock { $0 += outcomes } }
        let cid = try await t.postCall(ledger, needed: 5)
        _ = await ledger.submit(.recordAlerts(callId: cid, volunteerIds: ["a", "b", "c\"quote"]))
        seen.outcomes.withLock { $0 = [] }
        // Queued together, so that the writer takes them as one batch (or a few).
        let answers: [(String, String, FunnelStage)] = [
            (cid, "a", .received), (cid, "a", .received), (cid, "b", .seen), (cid, "stranger", .received),
            (cid, "a", .seen), ("no-such-call", "a", .received), (cid, "c\"quote", .received), (cid, "b", .received),
        ]
        for (c, v, stage) in answers { ledger.submitDetached(.funnel(callId: c, volunteerId: v, stage: stage)) }
        // A change of another kind waits behind them, and another answer behind it.
        let declined = await ledger.submit(.decline(callId: cid, volunteerId: "b"))
        #expect(declined.call?.delivered == 3 && declined.call?.seen == 2, "the answers before it are applied first")
        ledger.submitDetached(.funnel(callId: cid, volunteerId: "b", stage: .seen))
        await ledger.waitUntilIdle()
        let stored = try counts(t, cid)
        #expect(stored.delivered == 3 && stored.seen == 2 && stored.rows == 5)

        let funnel = seen.outcomes.withLock { $0 }.filter { if case .funnel = $0.change { true } else { false } }
        #expect(funnel.count == answers.count + 1, "one outcome per answer")
        var changed: [String] = []
        var last = (delivered: 0, seen: 0)
        for o in funnel {
            guard case .funnel(let c, let v, let stage) = o.change else { continue }
            if c == "no-such-call" {
                #expect(o.result == .notFound && o.call == nil && !o.changed)
                continue
            }
            #expect(o.result == .done && o.call?.id == cid && !o.statusChanged)
            // In commit order neither counter ever goes back, whichever stage went last.
            #expect(o.call!.delivered >= last.delivered && o.call!.seen >= last.seen)
            last = (o.call!.delivered, o.call!.seen)
            if o.changed { changed.append("\(v) \(stage.rawValue)") }
        }
        #expect(changed.sorted() == ["a received", "a seen", "b received", "b seen", "c\"quote received"])
    }

    @Test func answersOfManyRecipientsCostOneStatementEach() async throws {
        let t = try TestDatabase()
        let ledger = t.ledger()
        let cid = try await t.postCall(ledger, needed: 5)
        let crowd = (0..<2000).map { "v\($0)" }
        _ = await ledger.submit(.recordAlerts(callId: cid, volunteerIds: crowd))
        for v in crowd { ledger.submitDetached(.funnel(callId: cid, volunteerId: v, stage: .received)) }
        for v in crowd where v.hasSuffix("0") { ledger.submitDetached(.funnel(callId: cid, volunteerId: v, stage: .seen)) }
        await ledger.waitUntilIdle()
        let stored = try counts(t, cid)
        #expect(stored.delivered == 2000 && stored.seen == 200 && stored.rows == 2200)
    }
}
