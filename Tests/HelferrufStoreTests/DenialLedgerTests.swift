import Foundation
import GRDB
import HelferrufCore
import Testing
@testable import HelferrufStore

/// PROTOCOL.md §11 in the ledger: the overlap limit, removals, blocks and no-shows, all
/// decided inside the ledger's transaction.
@Suite struct DenialLedgerTests {
    private static let hour: Int64 = 3_600_000

    /// Posts a call whose window runs from `from` to `to` hours after the test's now.
    private func post(_ t: LedgerRig, _ ledger: any RosterLedger, needed: Int = 5, from: Int64 = 0, to: Int64 = 1, standby: Bool = false, orgId: String? = nil) async throws -> String {
        try await t.postCall(ledger, needed: needed, from: from, to: to, standby: standby, orgId: orgId)
    }

    private func volunteer(_ t: LedgerRig, _ name: String = "Anna") async throws -> String {
        try await t.store.createVolunteer(displayName: name, skills: [], maxDistanceKm: 10, contact: nil, fatigue: FatigueLimits(), now: .testNow).0.id
    }

    @Test(arguments: Engine.available) func fourConcurrentOverlappingAcceptsGiveThreeConfirmedAndOneLimit(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            var calls: [String] = []
            for i in 0..<4 { calls.append(try await post(t, ledger, from: Int64(i % 2), to: 3)) }
            let results = await withTaskGroup(of: RosterOutcome.Result.self) { group in
                for cid in calls { group.addTask { await ledger.submit(.accept(callId: cid, volunteerId: "v", eligible: true)).result } }
                var all: [RosterOutcome.Result] = []
                for await r in group { all.append(r) }
                return all
            }
            #expect(results.filter { $0 == .answer(.confirmed) }.count == 3)
            #expect(results.filter { $0 == .answer(.limit) }.count == 1)
            // The limited accept stored nothing.
            let held = try await t.execute("SELECT COUNT(*) FROM confirmations WHERE volunteer_id = 'v'", []).first.flatMap { Int($0) }
            #expect(held == 3)
            // Accepting a call already held still answers confirmed; withdrawing one frees a place.
            var limited = ""
            for cid in calls where try await t.confirmedVolunteers(cid).isEmpty { limited = cid }
            let heldCall = try #require(calls.first { $0 != limited })
            #expect(await ledger.submit(.accept(callId: heldCall, volunteerId: "v", eligible: true)).result == .answer(.confirmed))
            #expect(await ledger.submit(.withdraw(callId: heldCall, volunteerId: "v")).result == .answer(.withdrawn))
            #expect(await ledger.submit(.accept(callId: limited, volunteerId: "v", eligible: true)).result == .answer(.confirmed))
        }
    }

    @Test(arguments: Engine.available) func callsThatDoNotOverlapAreNotLimited(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            // Back to back: each ends when the next starts, so no two windows overlap.
            for i in 0..<5 {
                let cid = try await post(t, ledger, from: Int64(i), to: Int64(i + 1))
                #expect(await ledger.submit(.accept(callId: cid, volunteerId: "v", eligible: true)).result == .answer(.confirmed))
            }
            // A cancelled call no longer holds a place.
            let busy = try await post(t, ledger, from: 10, to: 12)
            var overlapping: [String] = []
            for _ in 0..<3 { overlapping.append(try await post(t, ledger, from: 11, to: 13)) }
            for cid in overlapping.prefix(2) + [busy] {
                #expect(await ledger.submit(.accept(callId: cid, volunteerId: "v", eligible: true)).result == .answer(.confirmed))
            }
            #expect(await ledger.submit(.accept(callId: overlapping[2], volunteerId: "v", eligible: true)).result == .answer(.limit))
            _ = await ledger.submit(.cancel(callId: busy, orgId: t.orgId))
            #expect(await ledger.submit(.accept(callId: overlapping[2], volunteerId: "v", eligible: true)).result == .answer(.confirmed))
        }
    }

    @Test(arguments: Engine.available) func standbyPlacesCountAndTheLimitComesBeforeTheQueue(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            let full = try await post(t, ledger, needed: 1, standby: true)
            #expect(await ledger.submit(.accept(callId: full, volunteerId: "other", eligible: true)).result == .answer(.confirmed))
            #expect(await ledger.submit(.accept(callId: full, volunteerId: "v", eligible: true)).result == .answer(.standby))
            for _ in 0..<2 {
                let cid = try await post(t, ledger)
                #expect(await ledger.submit(.accept(callId: cid, volunteerId: "v", eligible: true)).result == .answer(.confirmed))
            }
            // One standby place and two confirmations: a fourth overlapping place is refused,
            // also as a standby place on another full call.
            let fourth = try await post(t, ledger)
            #expect(await ledger.submit(.accept(callId: fourth, volunteerId: "v", eligible: true)).result == .answer(.limit))
            let otherFull = try await post(t, ledger, needed: 1, standby: true)
            _ = await ledger.submit(.accept(callId: otherFull, volunteerId: "other2", eligible: true))
            let queued = await ledger.submit(.accept(callId: otherFull, volunteerId: "v", eligible: true))
            #expect(queued.result == .answer(.limit) && queued.call?.standby == 0)
            // Leaving the queue frees the place.
            _ = await ledger.submit(.withdraw(callId: full, volunteerId: "v"))
            #expect(await ledger.submit(.accept(callId: fourth, volunteerId: "v", eligible: true)).result == .answer(.confirmed))
        }
    }

    @Test(arguments: Engine.available) func removalReopensThePlacePromotesStandbyAndBarsTheHelper(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            let cid = try await post(t, ledger, needed: 1, standby: true)
            _ = await ledger.submit(.accept(callId: cid, volunteerId: "fake", eligible: true))
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "real", eligible: true)).result == .answer(.standby))
            // Another organisation cannot remove anyone from this call; nobody unconfirmed is found.
            #expect(await ledger.submit(.remove(callId: cid, orgId: "someone-else", volunteerId: "fake")).result == .notFound)
            #expect(await ledger.submit(.remove(callId: cid, orgId: t.orgId, volunteerId: "nobody")).result == .notFound)
            let removed = await ledger.submit(.remove(callId: cid, orgId: t.orgId, volunteerId: "fake"))
            #expect(removed.result == .done && removed.promoted == ["real"])
            #expect(removed.call?.confirmed == 1 && removed.call?.status == .filled && removed.call?.standby == 0)
            #expect(try await t.confirmedVolunteers(cid) == ["real"])
            // The removed helper cannot take the call again, even once a place is free.
            _ = await ledger.submit(.withdraw(callId: cid, volunteerId: "real"))
            #expect(await ledger.submit(.accept(callId: cid, volunteerId: "fake", eligible: true)).result == .answer(.notEligible))
            let stored = try await t.count("removals", callId: cid)
            #expect(stored == 1)
            // Once the call has ended, its roster is history: a removal is a conflict.
            _ = await ledger.submit(.accept(callId: cid, volunteerId: "late", eligible: true))
            _ = await ledger.submit(.cancel(callId: cid, orgId: t.orgId))
            #expect(await ledger.submit(.remove(callId: cid, orgId: t.orgId, volunteerId: "late")).result == .conflict)
        }
    }

    @Test(arguments: Engine.available) func aBlockBarsAcceptsForThatOrganisationOnlyAndSkipsPromotion(engine: Engine) async throws {
        try await engine.withRig { t in
            let ledger = t.ledger()
            let other = try await t.store.createOrganisation(name: "Other", now: .testNow).0.id
            let mallory = try await volunteer(t, "Mallory")
            let queued = try await post(t, ledger, needed: 1, standby: true)
            _ = await ledger.submit(.accept(callId: queued, volunteerId: "first", eligible: true))
            #expect(await ledger.submit(.accept(callId: queued, volunteerId: mallory, eligible: true)).result == .answer(.standby))
            let kept = try await post(t, ledger, from: 5, to: 6)
            #expect(await ledger.submit(.accept(callId: kept, volunteerId: mallory, eligible: true)).result == .answer(.confirmed))

            let block = try #require(try await t.store.block(orgId: t.orgId, volunteerId: mallory, now: .testNow))
            #expect(block.displayName == "Mallory")
            #expect(try await t.store.block(orgId: t.orgId, volunteerId: "no-such-volunteer", now: .testNow) == nil)
            let mine = try await post(t, ledger)
            let theirs = try await post(t, ledger, orgId: other)
            #expect(await ledger.submit(.accept(callId: mine, volunteerId: mallory, eligible: true)).result == .answer(.notEligible))
            #expect(await ledger.submit(.accept(callId: theirs, volunteerId: mallory, eligible: true)).result == .answer(.confirmed))
            // A block does not end a confirmation; accepting it again still answers confirmed.
            #expect(await ledger.submit(.accept(callId: kept, volunteerId: mallory, eligible: true)).result == .answer(.confirmed))
            // A freed place passes over the blocked volunteer on the standby list.
            let freed = await ledger.submit(.withdraw(callId: queued, volunteerId: "first"))
            #expect(freed.promoted.isEmpty && freed.call?.status == .open)

            #expect(try await t.store.allBlocks() == [t.orgId: [mallory]])
            #expect(try await t.store.blocks(orgId: other).isEmpty)
            #expect(try await t.store.unblock(orgId: t.orgId, volunteerId: mallory))
            #expect(try await !t.store.unblock(orgId: t.orgId, volunteerId: mallory))
            #expect(await ledger.submit(.accept(callId: mine, volunteerId: mallory, eligible: true)).result == .answer(.confirmed))
        }
    }

    @Test(arguments: Engine.available) func noShowsCountOnlyWhereSomeoneCheckedIn(engine: Engine) async throws {
        try await engine.withRig { t in
            let clock = ManualClock(.testNow)
            let ledger = t.ledger(clock: { clock.now })
            let other = try await t.store.createOrganisation(name: "Other", now: .testNow).0.id
            // Call A: someone checked in, "absent" did not → a no-show.
            let a = try await post(t, ledger, to: 1)
            // Call B: nobody checked in → nobody counts as a no-show.
            let b = try await post(t, ledger, from: 2, to: 3)
            // Call C, another organisation's: not counted for this one.
            let c = try await post(t, ledger, from: 4, to: 5, orgId: other)
            for cid in [a, b, c] {
                _ = await ledger.submit(.accept(callId: cid, volunteerId: "absent", eligible: true))
            }
            _ = await ledger.submit(.accept(callId: a, volunteerId: "present", eligible: true))
            _ = await ledger.submit(.checkin(callId: a, volunteerId: "present", arrived: true))
            _ = await ledger.submit(.accept(callId: c, volunteerId: "present", eligible: true))
            _ = await ledger.submit(.checkin(callId: c, volunteerId: "present", arrived: true))
            // Before the calls end, nobody is a no-show.
            let now = try await post(t, ledger, from: 6, to: 7)
            _ = await ledger.submit(.accept(callId: now, volunteerId: "absent", eligible: true))
            func noShows() async throws -> [String: Int] {
                Dictionary(uniqueKeysWithValues: try await t.store.confirmations(callId: now, noShowsSince: Timestamp(millis: 0)).map { ($0.volunteerId, $0.noShows) })
            }
            #expect(try await noShows() == ["absent": 0])
            clock.now = Timestamp.testNow.adding(millis: 5 * Self.hour + 1)
            for cid in [a, b, c] { _ = await ledger.submit(.expire(callId: cid)) }
            #expect(try await noShows() == ["absent": 1])
            // Only the period asked for counts.
            let later = try await t.store.confirmations(callId: now, noShowsSince: Timestamp.testNow.adding(millis: 2 * Self.hour))
            #expect(later.first?.noShows == 0)
        }
    }
}
