import Foundation
import HelferrufCore
import PostgresNIO
import Synchronization
import Testing
@testable import HelferrufStore

/// The PostgreSQL ledger's set-wise accepts (``PostgresRoster/apply(batch:skipping:setwise:now:)``):
/// a batch gives the outcomes that applying its changes one at a time gives, whatever mix of
/// plain accepts and slow paths it holds, and several nodes' batches keep every rule.
@Suite(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct PostgresBatchTests {
    @Test func aMixedBatchTellsTheSameStoryAsOneChangeAtATime() async throws {
        let sqlite = try await Engine.sqlite.withRig { try await Self.mixedScript($0, oneBatch: false) }
        let postgres = try await Engine.postgres.withRig { try await Self.mixedScript($0, oneBatch: true) }
        #expect(sqlite.count > 30)
        for (i, (a, b)) in zip(sqlite, postgres).enumerated() where a != b {
            Issue.record("line \(i): one at a time \(a) ≠ one batch \(b)")
        }
        #expect(sqlite.count == postgres.count)
    }

    /// Plain accepts mixed with resends, withdrawals and promotions, the standby list, a
    /// removal, a block, an expiry and the overlap limit reached inside the batch.
    static func mixedScript(_ t: LedgerRig, oneBatch: Bool) async throws -> [String] {
        let ledger = t.ledger()
        let held = try await t.postCall(ledger, needed: 5) { $0.id = "held" }
        let main = try await t.postCall(ledger, needed: 4, standby: true) { $0.id = "main" }
        var overlapping: [String] = []
        for i in 0..<3 { overlapping.append(try await t.postCall(ledger, needed: 3) { $0.id = "overlap\(i)" }) }
        let past = try await t.postCall(ledger, needed: 2, from: -3, to: -1) { $0.id = "past" }
        let mallory = try await t.store.createVolunteer(
            displayName: "Mallory", skills: [], maxDistanceKm: 10, contact: nil, fatigue: FatigueLimits(), now: .testNow).0.id
        _ = try await t.store.block(orgId: t.orgId, volunteerId: mallory, now: .testNow)
        _ = await ledger.submit(.recordAlerts(callId: main, volunteerIds: ["alerted"]))

        func accept(_ call: String, _ vid: String, eligible: Bool = true, party: Int = 1) -> RosterChange {
            .accept(callId: call, volunteerId: vid, eligible: eligible, party: party)
        }
        let changes: [RosterChange] = [
            accept(main, "a"), accept(main, "a"), accept(main, "b", party: 2), accept(overlapping[0], "a"),
            .withdraw(callId: main, volunteerId: "a"), accept(main, "c", party: 2), accept(main, "d"), accept(main, "e", eligible: false),
            accept(main, "alerted", eligible: false), accept(main, "d"), .decline(callId: main, volunteerId: "f"),
            .withdraw(callId: main, volunteerId: "c"), accept(main, "g"), accept(main, "g"), accept(main, "h", party: 3),
            accept(past, "a"), accept(main, mallory), .remove(callId: main, orgId: t.orgId, volunteerId: "b"), accept(main, "b"),
            accept(overlapping[1], "a"), accept(overlapping[2], "a"), accept(held, "a"), accept(overlapping[2], "i"),
            accept(overlapping[2], "j", party: 2), accept(overlapping[2], "k"), accept("missing", "a"), accept(held, "i"),
            .withdraw(callId: overlapping[1], volunteerId: "a"), accept(held, "a"),
        ]
        let outcomes = oneBatch
            ? try await submitAsOneBatch(changes, to: ledger, rig: t, holding: held)
            : [await ledger.submit(accept(held, "waiting"))] + (await changes.asyncMap { await ledger.submit($0) })
        var log = outcomes.map(EngineParityTests.describe)
        for call in [held, main, past] + overlapping {
            let stored = try #require(try await t.store.call(id: call))
            log.append("\(call) \(stored.status.rawValue) c\(stored.confirmed) s\(stored.standby) \(try await t.confirmedVolunteers(call).sorted())")
        }
        return log.map { $0.replacingOccurrences(of: mallory, with: "mallory") }
    }

    /// Submits `changes` so that they form one batch, in order: a transaction elsewhere holds
    /// the `holding` call's row while the ledger's batch before (an accept on that call)
    /// waits for it, and the changes queue behind. Returns that accept's outcome, then theirs.
    static func submitAsOneBatch(
        _ changes: [RosterChange], to ledger: any RosterLedger, rig t: LedgerRig, holding heldCall: String
    ) async throws -> [RosterOutcome] {
        let database = try #require(t.store as? PostgresStore).database
        let locked = AsyncStream<Void>.makeStream(), release = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await database.client.withTransaction(logger: database.logger) { conn in
                try await conn.query("SELECT id FROM calls WHERE id = \(heldCall) FOR UPDATE", logger: database.logger)
                locked.continuation.yield()
                for await _ in release.stream { break }
            }
        }
        for await _ in locked.stream { break }
        let batches = BatchSizes()
        ledger.setBatchObserver { size, _, _ in batches.add(size) }
        var tasks = [Task { await ledger.submit(.accept(callId: heldCall, volunteerId: "waiting", eligible: true)) }]
        try await waitFor { try await t.execute("SELECT COUNT(*) FROM pg_locks WHERE NOT granted", []) != ["0"] }
        for (i, change) in changes.enumerated() {
            tasks.append(Task { await ledger.submit(change) })
            try await waitFor { ledger.queueDepth == i + 1 }
        }
        release.continuation.yield()
        try await holder.value
        var outcomes: [RosterOutcome] = []
        for task in tasks { outcomes.append(await task.value) }
        #expect(batches.all == [1, changes.count])
        return outcomes
    }

    /// Waits (at most 10 s) until `condition` holds.
    static func waitFor(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<10_000 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("condition not met within 10 s")
    }

    /// Two nodes' batches on the same calls at once: every call gets exactly its places, each
    /// `confirmed` answer is a stored confirmation, and no volunteer holds more overlapping
    /// places than the limit.
    @Test func concurrentBatchesOfTwoNodesKeepEveryRule() async throws {
        try await Engine.postgres.withRig { t in
            let (_, otherLedger) = try #require(try await t.otherNode?())
            let ledger = t.ledger()
            var calls: [String] = []
            for i in 0..<8 { calls.append(try await t.postCall(ledger, needed: 6, standby: i % 2 == 0)) }
            let results = await withTaskGroup(of: (String, String, RosterOutcome).self) { group in
                for i in 0..<600 {
                    let node = i % 2 == 0 ? ledger : otherLedger
                    let (call, vid, party) = (calls[i % calls.count], "v\((i * 7) % 50)", 1 + i % 3 / 2)
                    group.addTask { (call, vid, await node.submit(.accept(callId: call, volunteerId: vid, eligible: true, party: party))) }
                }
                var all: [(String, String, RosterOutcome)] = []
                for await r in group { all.append(r) }
                return all
            }
            #expect(!results.contains { $0.2.result == .unavailable })
            for call in calls {
                let stored = try #require(try await t.store.call(id: call))
                let places = try await t.execute("SELECT COALESCE(SUM(party), 0) FROM confirmations WHERE call_id = $1", [.text(call)])
                #expect(stored.confirmed == stored.needed && places == ["\(stored.needed)"])
                let answered = Set(results.filter { $0.0 == call && $0.2.result == .answer(.confirmed) }.map(\.1))
                #expect(answered == (try await t.confirmedVolunteers(call)))
            }
            let held = try await t.execute("""
                SELECT MAX(n) FROM (SELECT volunteer_id, COUNT(*) AS n FROM (
                    SELECT volunteer_id FROM confirmations UNION ALL SELECT volunteer_id FROM standby WHERE left_at IS NULL) AS p
                GROUP BY volunteer_id) AS m
                """, [])
            #expect(held == ["\(Ledger.defaultMaxOverlapping)"])
            #expect(ledger.statistics.changes > ledger.statistics.batches)
        }
    }

    /// A constraint the set-wise write runs into (here a trigger that refuses one volunteer's
    /// confirmation) sends the batch through the per-change path: that accept is answered
    /// `unavailable`, the others of the batch commit.
    @Test func aRefusedConfirmationFallsBackToOneChangeAtATime() async throws {
        try await Engine.postgres.withRig { t in
            let ledger = t.ledger()
            let held = try await t.postCall(ledger, needed: 5)
            let main = try await t.postCall(ledger, needed: 5)
            _ = try await t.execute("""
                CREATE FUNCTION refuse_mallory() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.volunteer_id = 'mallory' THEN RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF;
                    RETURN NEW;
                END $$
                """, [])
            _ = try await t.execute(
                "CREATE TRIGGER refuse_mallory BEFORE INSERT ON confirmations FOR EACH ROW EXECUTE FUNCTION refuse_mallory()", [])
            let changes = ["a", "mallory", "b"].map { RosterChange.accept(callId: main, volunteerId: $0, eligible: true) }
            let outcomes = try await Self.submitAsOneBatch(changes, to: ledger, rig: t, holding: held)
            #expect(outcomes.map(\.result) == [.answer(.confirmed), .answer(.confirmed), .unavailable, .answer(.confirmed)])
            #expect(outcomes[3].call?.confirmed == 2)
            #expect(try await t.confirmedVolunteers(main) == ["a", "b"])
            #expect(ledger.statistics.failedBatches == 0)
        }
    }
}

/// The sizes of a ledger's batches, in order.
private final class BatchSizes: Sendable {
    private let sizes = Mutex<[Int]>([])
    func add(_ size: Int) { sizes.withLock { $0.append(size) } }
    var all: [Int] { sizes.withLock { $0 } }
}

extension Array {
    /// `transform` of each element, one after the other.
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
