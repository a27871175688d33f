import Testing
@testable import HelferrufCore

@Suite struct DispatchRulesTests {
    @Test func partiesAreConfirmedWholeOrQueued() {
        // A party of 4 is refused whole when 3 places remain.
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .open, eligibleOrAlerted: true, confirmed: 7, needed: 10, party: 4) == .full)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .open, eligibleOrAlerted: true, confirmed: 7, needed: 10, party: 3) == .confirmed)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .open, eligibleOrAlerted: true, confirmed: 7, needed: 10, party: 4, standbyEnabled: true) == .standby)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .filled, eligibleOrAlerted: true, confirmed: 10, needed: 10, standbyEnabled: true) == .standby)
        // Queued already: standby again, but an ended call is closed and a confirmation wins.
        #expect(FillRules.decideAccept(alreadyConfirmed: false, onStandby: true, status: .open, eligibleOrAlerted: true, confirmed: 0, needed: 10, standbyEnabled: true) == .standby)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, onStandby: true, status: .cancelled, eligibleOrAlerted: true, confirmed: 0, needed: 10, standbyEnabled: true) == .closed)
        #expect(FillRules.decideAccept(alreadyConfirmed: true, status: .filled, eligibleOrAlerted: true, confirmed: 10, needed: 10, party: 9) == .confirmed)
        // Not eligible comes before standby.
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .filled, eligibleOrAlerted: false, confirmed: 10, needed: 10, standbyEnabled: true) == .notEligible)
    }

    @Test func promotionWalksTheQueueKeepingTurnsOfThoseWhoDoNotFit() {
        #expect(FillRules.promotions(parties: [4, 1, 2, 1], free: 3) == [1, 2])
        #expect(FillRules.promotions(parties: [1, 1, 1], free: 2) == [0, 1])
        #expect(FillRules.promotions(parties: [5], free: 4) == [])
        #expect(FillRules.promotions(parties: [], free: 4) == [])
        #expect(FillRules.promotions(parties: [1], free: 0) == [])
    }

    @Test func waveSizeAndRate() {
        #expect(Waves.acceptanceRate(accepted: 0, alerted: 0) == 0.3)
        #expect(Waves.acceptanceRate(accepted: 0, alerted: 50) == 0.05)
        #expect(Waves.acceptanceRate(accepted: 80, alerted: 40) == 1)
        #expect(Waves.acceptanceRate(accepted: 10, alerted: 40) == 0.25)
        #expect(Waves.size(remaining: 3, acceptanceRate: 0.3) == 10)
        #expect(Waves.size(remaining: 4, acceptanceRate: 0.3) == 14)
        #expect(Waves.size(remaining: 1, acceptanceRate: 1) == 1)
        #expect(Waves.size(remaining: 0, acceptanceRate: 0.3) == 0)
        #expect(Waves.widened(reachedKm: 2, radiusKm: 2, maxRadiusKm: 5) == 3)
        #expect(Waves.widened(reachedKm: 4.5, radiusKm: 2, maxRadiusKm: 5) == 5)
        #expect(Waves.widened(reachedKm: 5, radiusKm: 2, maxRadiusKm: 5) == nil)
    }

    @Test func dispatchInputIsValidated() throws {
        let now = RFC3339.parse("2026-11-29T08:00:00Z")!
        func draft(_ mode: String?, max: Double? = nil, seconds: Double? = nil) -> CallDraft {
            CallDraft(title: "Sandsäcke", description: nil, address: nil, lat: 50.9, lon: 6.9, radiusKm: 4, needed: 5, skills: nil,
                      startsAt: nil, endsAt: "2026-11-29T12:00:00Z", dispatchMode: mode, maxRadiusKm: max, waveSeconds: seconds, standby: true)
        }
        #expect(try draft(nil).validate(now: now).dispatch == .broadcast)
        #expect(try draft(nil).validate(now: now).standby)
        #expect(try draft("waves").validate(now: now).dispatch == .waves(maxRadiusKm: 4, waveSeconds: 60))
        #expect(try draft("waves", max: 10, seconds: 5).validate(now: now).dispatch == .waves(maxRadiusKm: 10, waveSeconds: 5))
        #expect(throws: ValidationError(field: "dispatch.mode", message: "must be \"broadcast\", \"waves\" or \"deadline\"")) { try draft("flood").validate(now: now) }
        #expect(throws: ValidationError(field: "dispatch.maxRadiusKm", message: "must be at least radiusKm")) { try draft("waves", max: 3).validate(now: now) }
        for bad in [0.5, 0, 3601, .nan, .infinity, 1e300] {
            #expect(throws: ValidationError.self) { try draft("waves", seconds: bad).validate(now: now) }
        }
    }
}

@Suite struct FatigueTests {
    func t(_ s: String) -> Timestamp { RFC3339.parse(s)! }

    @Test func berlinOffsetFollowsTheEURule() {
        #expect(BerlinTime.utcOffsetMinutes(at: t("2026-03-29T00:59:59Z")) == 60)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2026-03-29T01:00:00Z")) == 120)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2026-10-25T00:59:59Z")) == 120)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2026-10-25T01:00:00Z")) == 60)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2024-03-31T01:00:00Z")) == 120)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2024-03-31T00:30:00Z")) == 60)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2026-07-01T12:00:00Z")) == 120)
        #expect(BerlinTime.utcOffsetMinutes(at: t("2026-12-24T12:00:00Z")) == 60)
        #expect(BerlinTime.minuteOfDay(at: t("2026-12-24T23:30:00Z")) == 30)
    }

    @Test func quietHoursAcrossTheSpringChange() throws {
        let quiet = try QuietHours.parse(from: "22:00", to: "07:00")
        // 22:30 CET on the night the clocks go forward.
        #expect(quiet.contains(t("2026-03-28T21:30:00Z")))
        #expect(!quiet.contains(t("2026-03-28T20:59:00Z")))
        // 07:00 CEST is 05:00 UTC (with CET it would be 06:00).
        #expect(quiet.end(after: t("2026-03-28T21:30:00Z")) == t("2026-03-29T05:00:00Z"))
        #expect(!quiet.contains(t("2026-03-29T05:30:00Z")))
    }

    @Test func quietHoursAcrossTheAutumnChange() throws {
        let quiet = try QuietHours.parse(from: "22:00", to: "07:00")
        #expect(quiet.contains(t("2026-10-24T20:30:00Z")))
        // 07:00 CET is 06:00 UTC.
        #expect(quiet.end(after: t("2026-10-24T20:30:00Z")) == t("2026-10-25T06:00:00Z"))
        #expect(quiet.contains(t("2026-10-25T05:30:00Z")))
    }

    @Test func quietHoursWithinOneDayAndParsing() throws {
        let lunch = try QuietHours.parse(from: "12:00", to: "13:30")
        #expect(lunch.contains(t("2026-12-01T11:15:00Z")))
        #expect(!lunch.contains(t("2026-12-01T12:30:00Z")))
        #expect(lunch.end(after: t("2026-12-01T11:15:20Z")) == t("2026-12-01T12:30:00Z"))
        #expect(lunch.fromText == "12:00" && lunch.toText == "13:30")
        for bad in ["7:00", "24:00", "12:60", "ab:cd", "12-00", ""] {
            #expect(throws: ValidationError.self) { try QuietHours.parse(from: bad, to: "07:00") }
        }
        #expect(throws: ValidationError(field: "quietHours.to", message: "must differ from quietHours.from")) {
            try QuietHours.parse(from: "07:00", to: "07:00")
        }
    }

    @Test func limitsDecide() throws {
        let limits = FatigueLimits(maxAlertsPerDay: 2, quietHours: try QuietHours.parse(from: "22:00", to: "07:00"))
        #expect(limits.decide(now: t("2026-12-01T12:00:00Z"), alertsInLastDay: 1) == .send)
        #expect(limits.decide(now: t("2026-12-01T12:00:00Z"), alertsInLastDay: 2) == .drop)
        #expect(limits.decide(now: t("2026-12-01T22:00:00Z"), alertsInLastDay: 0) == .hold(until: t("2026-12-02T06:00:00Z")))
        #expect(FatigueLimits().decide(now: t("2026-12-01T23:00:00Z"), alertsInLastDay: 10_000) == .send)
    }

    @Test func alertWindowRolls() {
        var w = AlertWindow(times: [t("2026-12-01T08:00:00Z"), t("2026-12-01T20:00:00Z")])
        #expect(w.count(now: t("2026-12-02T07:59:00Z")) == 2)
        #expect(w.count(now: t("2026-12-02T08:00:00Z")) == 1)
        w.record(t("2026-12-02T09:00:00Z"))
        #expect(w.count(now: t("2026-12-02T09:00:00Z")) == 2)
        #expect(w.count(now: t("2026-12-04T00:00:00Z")) == 0)
    }
}
