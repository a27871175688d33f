import Foundation
import HelferrufCore
import Testing
@testable import HelferrufStore

/// One script of roster changes and reads, run on SQLite and on PostgreSQL: every outcome
/// and every read must come out the same on both engines (PROTOCOL.md §7, §10, §11 through
/// the ledger: parties, standby and promotion, waves, suppressions, funnel, check-in and
/// close-out, messages, removal, blocks, expiry, cancellation).
@Suite(.enabled(if: TestPostgres.configured, "HELFERRUF_TEST_POSTGRES_URL is not set"))
struct EngineParityTests {
    @Test func bothEnginesTellTheSameStory() async throws {
        let sqlite = try await Engine.sqlite.withRig { try await Self.script($0) }
        let postgres = try await Engine.postgres.withRig { try await Self.script($0) }
        #expect(sqlite.count > 60)
        for (i, (a, b)) in zip(sqlite, postgres).enumerated() where a != b {
            Issue.record("line \(i): sqlite \(a) ≠ postgres \(b)")
        }
        #expect(sqlite.count == postgres.count)
    }

    static func describe(_ o: RosterOutcome) -> String {
        var s = "\(o.result)"
        if let c = o.call {
            s += " \(c.status.rawValue) c\(c.confirmed)/\(c.needed) a\(c.alerted) d\(c.declined) s\(c.standby) w\(c.waves) r\(c.reachedRadiusKm)"
            s += " recv\(c.delivered) seen\(c.seen) in\(c.checkedIn) sup\(c.suppressed) ended\(c.endedAt?.millis ?? -1)"
        }
        s += " changed\(o.changed) status\(o.statusChanged) promoted\(o.promoted) to\(o.recipients.sorted())"
        if let m = o.message { s += " \(m.kind.rawValue): \(m.text)" }
        return s
    }

    static func script(_ t: LedgerRig) async throws -> [String] {
        let clock = ManualClock(.testNow)
        let ledger = t.ledger(clock: { clock.now })
        var log: [String] = []
        func run(_ change: RosterChange) async { log.append(describe(await ledger.submit(change))) }
        let hour: Int64 = 3_600_000
        var volunteers: [String: String] = [:]
        for name in ["anna", "ben", "cem", "dora", "emil"] {
            volunteers[name] = try await t.store.createVolunteer(
                displayName: name, skills: [], maxDistanceKm: 10, contact: "\(name)@example.org", fatigue: FatigueLimits(), now: .testNow).0.id
        }
        let v = { (name: String) in volunteers[name] ?? name }

        // A waves call with a standby list, two places.
        let waves = try await t.postCall(ledger, needed: 2, to: 2, standby: true) { call in
            call.id = "waves"
            call.dispatch = .waves(maxRadiusKm: 9, waveSeconds: 60)
            call.acceptanceRate = 0.5
        }
        await run(.recordWave(callId: waves, reachedRadiusKm: 5, volunteerIds: [v("anna"), v("ben"), v("ben"), v("cem")]))
        await run(.recordWave(callId: waves, reachedRadiusKm: 9, volunteerIds: []))
        await run(.recordSuppressed(callId: waves, volunteerIds: [v("dora"), v("dora")], reason: .daily))
        await run(.recordSuppressed(callId: waves, volunteerIds: [v("dora")], reason: .quiet))
        await run(.funnel(callId: waves, volunteerId: v("anna"), stage: .received))
        await run(.funnel(callId: waves, volunteerId: v("anna"), stage: .received))
        await run(.funnel(callId: waves, volunteerId: v("anna"), stage: .seen))
        await run(.funnel(callId: waves, volunteerId: v("emil"), stage: .received))
        await run(.accept(callId: waves, volunteerId: v("emil"), eligible: false))
        await run(.accept(callId: waves, volunteerId: v("anna"), eligible: false, party: 3))
        await run(.accept(callId: waves, volunteerId: v("anna"), eligible: true))
        await run(.accept(callId: waves, volunteerId: v("ben"), eligible: true, party: 2))
        await run(.accept(callId: waves, volunteerId: v("ben"), eligible: true))
        await run(.accept(callId: waves, volunteerId: v("cem"), eligible: true))
        await run(.decline(callId: waves, volunteerId: v("dora")))
        await run(.decline(callId: waves, volunteerId: v("dora")))
        await run(.checkin(callId: waves, volunteerId: v("cem"), arrived: true))
        await run(.checkin(callId: waves, volunteerId: v("ben"), arrived: true))
        await run(.checkin(callId: waves, volunteerId: v("ben"), arrived: true))
        await run(.checkin(callId: waves, volunteerId: v("ben"), arrived: false))
        await run(.checkin(callId: waves, volunteerId: v("ben"), arrived: true))
        await run(.postMessage(callId: waves, orgId: t.orgId, text: "Treffpunkt am Deich"))
        await run(.postMessage(callId: waves, orgId: "someone-else", text: "x"))
        // Ben withdraws while on site: checked out, Cem promoted from standby.
        await run(.withdraw(callId: waves, volunteerId: v("ben")))
        await run(.withdraw(callId: waves, volunteerId: v("ben")))
        await run(.accept(callId: waves, volunteerId: v("ben"), eligible: true))
        await run(.withdraw(callId: waves, volunteerId: v("ben")))
        await run(.remove(callId: waves, orgId: t.orgId, volunteerId: v("cem")))
        await run(.accept(callId: waves, volunteerId: v("cem"), eligible: true))
        await run(.checkin(callId: waves, volunteerId: v("anna"), arrived: true))
        log.append("welcome \(try await welcome(t, v("anna"), now: clock.now))")

        // A deadline call of another organisation; blocks stay with their organisation.
        let other = try await t.store.createOrganisation(name: "Other", now: .testNow).0.id
        let deadline = try await t.postCall(ledger, needed: 1, from: 0, to: 1, orgId: other) { call in
            call.id = "deadline"
            call.dispatch = .deadline(fillBy: Timestamp.testNow.adding(millis: 600_000), confidence: 0.8, maxRadiusKm: 7)
            call.delayModel = DelayModel(medianSeconds: 50, sigma: 0.7)
        }
        _ = try await t.store.block(orgId: t.orgId, volunteerId: v("emil"), now: .testNow)
        await run(.accept(callId: deadline, volunteerId: v("emil"), eligible: true))
        // Anna already holds a place on an overlapping call (waves): with the default limit of
        // three she may take this one too.
        await run(.accept(callId: deadline, volunteerId: v("anna"), eligible: true))
        await run(.cancel(callId: deadline, orgId: t.orgId))
        await run(.cancel(callId: deadline, orgId: other))
        await run(.cancel(callId: deadline, orgId: other))
        await run(.accept(callId: deadline, volunteerId: v("ben"), eligible: true))
        await run(.postMessage(callId: deadline, orgId: other, text: "Danke"))

        // Time passes: the waves call expires with its close-out message.
        clock.now = Timestamp.testNow.adding(millis: 2 * hour + 1)
        await run(.expire(callId: waves))
        await run(.expire(callId: waves))
        await run(.accept(callId: waves, volunteerId: v("dora"), eligible: true))
        await run(.cancel(callId: waves, orgId: t.orgId))
        await run(.remove(callId: waves, orgId: t.orgId, volunteerId: v("anna")))
        await run(.checkin(callId: waves, volunteerId: v("anna"), arrived: false))
        await run(.expire(callId: "missing"))
        clock.now = Timestamp.testNow.adding(millis: 30 * hour)
        await run(.postMessage(callId: waves, orgId: t.orgId, text: "zu spät"))

        // The reads.
        for call in try await t.store.calls(orgId: t.orgId, status: nil) { log.append("calls \(call.id) \(call.status.rawValue) \(call.dispatch)") }
        log.append("expired \(try await t.store.calls(orgId: t.orgId, status: .expired).map(\.id))")
        log.append("all \(try await t.store.allCalls(status: nil).map(\.id).sorted())")
        log.append("dashboard \(try await t.store.dashboardCalls(orgId: other, endedSince: .testNow).map(\.id))")
        log.append("active \(try await t.store.activeCalls().map(\.call.id))")
        let stored = try #require(try await t.store.call(id: deadline))
        log.append("deadline \(stored.dispatch) \(stored.delayModel) \(stored.acceptanceRate)")
        for c in try await t.store.confirmations(callId: waves, noShowsSince: Timestamp(millis: 0)) {
            log.append("confirmation \(names(c.volunteerId, volunteers)) \(c.displayName ?? "-") \(c.contact ?? "-") p\(c.party) in\(c.checkedIn) noShows\(c.noShows)")
        }
        log.append("messages \(try await t.store.messages(callId: waves).map { "\($0.kind.rawValue): \($0.text) @\($0.at.millis)" })")
        log.append("rate \(try await t.store.acceptanceRate(orgId: t.orgId)) \(try await t.store.acceptanceRate(orgId: other))")
        log.append("delay \(try await t.store.delayModel(orgId: t.orgId))")
        let progress = try await t.store.deadlineProgress(callId: waves)
        log.append("progress \(progress.alertedAt.keys.map { names($0, volunteers) }.sorted()) \(progress.answered.map { names($0, volunteers) }.sorted())")
        log.append("recent \(try await t.store.recentAlertTimes(since: Timestamp(millis: 0)).mapValues { $0.map(\.millis) }.map { "\(names($0.key, volunteers)) \($0.value)" }.sorted())")
        if let export = try await t.store.export(volunteerId: v("anna")) {
            log.append("export \(export.profile.displayName) \(export.alerts.count) \(export.confirmations.count) \(export.declines.count) \(export.withdrawals.count) \(export.removals.count) \(export.checkIns.count) \(export.checkOuts.count) \(export.standby.count) \(export.funnel.map(\.callTitle)) \(export.heldBack.count)")
        }
        log.append("export cem \(try await t.store.export(volunteerId: v("cem")).map { "\($0.removals.map(\.callId)) \($0.standby.count) \($0.withdrawals.count)" } ?? "-")")
        log.append("welcome \(try await welcome(t, v("anna"), now: clock.now))")
        log.append("dora dropped \(try await t.store.welcomeState(volunteerId: v("dora"), now: .testNow).dropped)")
        let stats = try await t.store.stats()
        log.append("stats \(stats.callsByStatus.sorted { $0.key < $1.key }) \(stats.confirmations) \(stats.alerts) \(stats.volunteers)")
        return log.map { line in volunteers.reduce(line) { $0.replacingOccurrences(of: $1.value, with: $1.key) } }
    }

    static func names(_ id: String, _ volunteers: [String: String]) -> String {
        volunteers.first { $0.value == id }?.key ?? id
    }

    static func welcome(_ t: LedgerRig, _ id: String, now: Timestamp) async throws -> String {
        let w = try await t.store.welcomeState(volunteerId: id, now: now)
        return "\(w.confirmed.map(\.id)) \(w.standby.map(\.id)) \(w.messages.map(\.text)) \(w.dropped.sorted()) \(w.mine.mapValues { "\($0.party) \($0.checkedIn)" })"
    }
}
