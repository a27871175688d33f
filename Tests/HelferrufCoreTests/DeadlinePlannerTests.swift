import Foundation
import Testing
@testable import HelferrufCore

/// The deadline planner (PROTOCOL.md §10) and its learnt delay model.
@Suite struct DeadlinePlannerTests {
    static let model = DeadlineModel()

    func plan(secondsLeft: Double, remaining: Int, pending: [Double] = [], available: Int = 100_000, confidence: Double = 0.95, model: DeadlineModel = model) -> DeadlineStep {
        DeadlinePlanner.plan(
            DeadlineSituation(secondsLeft: secondsLeft, remaining: remaining, pendingSeconds: pending, available: available, confidence: confidence),
            model: model)
    }

    /// The exact probability of at least `k` successes of `n` Bernoulli(`q`) trials.
    func binomialTail(n: Int, q: Double, atLeast k: Int) -> Double {
        var pmf = [Double](repeating: 0, count: n + 1)
        pmf[0] = 1
        for _ in 0..<n {
            for i in stride(from: n, through: 1, by: -1) { pmf[i] = pmf[i] * (1 - q) + pmf[i - 1] * q }
            pmf[0] *= 1 - q
        }
        return pmf[k...].reduce(0, +)
    }

    @Test func alertsTheFewestThatReachTheConfidence() {
        let step = plan(secondsLeft: 300, remaining: 10)
        let q = 0.3 * DelayModel.default.cdf(300)
        #expect(binomialTail(n: step.alertNow, q: q, atLeast: 10) >= 0.95)
        #expect(binomialTail(n: step.alertNow - 1, q: q, atLeast: 10) < 0.95)
        #expect(abs(step.probability - binomialTail(n: step.alertNow, q: q, atLeast: 10)) < 1e-9)
        #expect(abs(step.expectedMore - Double(step.alertNow) * q) < 1e-9)
        // Far fewer than everyone, and more than a plain remaining / p.
        #expect(step.alertNow > 34 && step.alertNow < 80)
    }

    @Test func aLaterDeadlineNeverAlertsMore() {
        var rng = SimulationRandom(seed: 11)
        for _ in 0..<300 {
            let remaining = 1 + rng.int(below: rng.unit() < 0.5 ? 60 : 400)
            let pending = (0..<rng.int(below: 300)).map { _ in rng.unit() * 600 }
            let model = DeadlineModel(acceptanceRate: 0.05 + rng.unit() * 0.9, delay: DelayModel(medianSeconds: 10 + rng.unit() * 300, sigma: 0.2 + rng.unit() * 1.5))
            let confidence = 0.5 + rng.unit() * 0.49
            var previous = Int.max
            for seconds in [1.0, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 86_400] {
                let step = plan(secondsLeft: seconds, remaining: remaining, pending: pending, available: 5000, confidence: confidence, model: model)
                #expect(step.alertNow <= previous, "remaining \(remaining), \(seconds) s")
                previous = step.alertNow
            }
        }
    }

    @Test func countsVolunteersWhoHaveNotAnsweredYet() {
        let none = plan(secondsLeft: 600, remaining: 10)
        let fresh = plan(secondsLeft: 600, remaining: 10, pending: Array(repeating: 5, count: 40))
        #expect(fresh.alertNow < none.alertNow && fresh.alertNow > 0)
        #expect(fresh.expectedMore > none.expectedMore * 0.9)
        // Enough recently alerted volunteers: nobody more now.
        #expect(plan(secondsLeft: 600, remaining: 10, pending: Array(repeating: 5, count: 80)).alertNow == 0)
        // Silence counts against them: volunteers alerted 20 minutes ago who never answered
        // are worth much less than those alerted a moment ago.
        let stale = plan(secondsLeft: 600, remaining: 10, pending: Array(repeating: 1200, count: 40))
        #expect(stale.alertNow > fresh.alertNow)
        #expect(stale.alertNow > none.alertNow - 5)
    }

    @Test func alertsEveryoneLeftAtTheDeadline() {
        #expect(plan(secondsLeft: 0, remaining: 3, available: 250).alertNow == 250)
        #expect(plan(secondsLeft: -30, remaining: 3, available: 17).alertNow == 17)
        // Seconds before it, hardly anyone could answer in time: everyone left, behind plan.
        let late = plan(secondsLeft: 2, remaining: 3, available: 400)
        #expect(late.alertNow == 400 && late.probability < 0.95)
        // Not enough people anywhere: all of them, and the plan says it is behind.
        let short = plan(secondsLeft: 900, remaining: 20, available: 30)
        #expect(short.alertNow == 30 && short.probability < 0.5)
    }

    @Test func aFullCallAlertsNobody() {
        let step = plan(secondsLeft: 600, remaining: 0)
        #expect(step.alertNow == 0 && step.probability == 1)
    }

    @Test func largeCallsUseTheNormalApproximationCloseToTheExactAnswer() {
        // Just above the exact limit the approximation must agree with the exact binomial.
        let remaining = DeadlinePlanner.exactLimit + 1
        let step = plan(secondsLeft: 900, remaining: remaining)
        let q = 0.3 * DelayModel.default.cdf(900)
        let exact = binomialTail(n: step.alertNow, q: q, atLeast: remaining)
        #expect(abs(exact - 0.95) < 0.02)
        let big = plan(secondsLeft: 1800, remaining: 5000, available: 40_000)
        #expect(big.alertNow > Int(5000 / 0.3) && big.alertNow < Int(5000 / 0.3 * 1.1))
    }

    @Test func theConfidenceTradesAlertsForCertainty() {
        let low = plan(secondsLeft: 600, remaining: 20, confidence: 0.5)
        let high = plan(secondsLeft: 600, remaining: 20, confidence: 0.99)
        #expect(low.alertNow < high.alertNow)
        #expect(low.probability >= 0.5 && high.probability >= 0.99)
    }

    // MARK: The call input

    @Test func deadlineInputIsValidated() throws {
        let now = RFC3339.parse("2026-11-29T08:00:00Z")!
        func draft(fillBy: String?, confidence: Double? = nil, max: Double? = nil) -> CallDraft {
            CallDraft(title: "Deich", description: nil, address: nil, lat: 50.9, lon: 6.9, radiusKm: 4, needed: 5, skills: nil,
                      startsAt: nil, endsAt: "2026-11-29T12:00:00Z", dispatchMode: "deadline", maxRadiusKm: max,
                      fillBy: fillBy, confidence: confidence)
        }
        let fillBy = RFC3339.parse("2026-11-29T08:15:00Z")!
        #expect(try draft(fillBy: "2026-11-29T09:15:00+01:00").validate(now: now).dispatch == .deadline(fillBy: fillBy, confidence: 0.95, maxRadiusKm: 4))
        #expect(try draft(fillBy: "2026-11-29T12:00:00Z", confidence: 0.5, max: 9).validate(now: now).dispatch
            == .deadline(fillBy: RFC3339.parse("2026-11-29T12:00:00Z")!, confidence: 0.5, maxRadiusKm: 9))
        for bad in [nil, "", "soon", "2026-11-29T08:00:00Z", "2026-11-29T07:59:00Z", "2026-11-29T12:00:01Z", "2027-01-01T00:00:00Z"] {
            do {
                _ = try draft(fillBy: bad).validate(now: now)
                Issue.record("fillBy \(bad ?? "nil") accepted")
            } catch { #expect(error.field == "dispatch.fillBy") }
        }
        for bad in [0.49, 0.995, 1, 0, -1, .nan, .infinity, 1e300] {
            do {
                _ = try draft(fillBy: "2026-11-29T09:00:00Z", confidence: bad).validate(now: now)
                Issue.record("confidence \(bad) accepted")
            } catch { #expect(error.field == "dispatch.confidence") }
        }
        #expect(throws: ValidationError(field: "dispatch.maxRadiusKm", message: "must be at least radiusKm")) {
            try draft(fillBy: "2026-11-29T09:00:00Z", max: 3).validate(now: now)
        }
    }

    // MARK: The learnt model

    @Test func fitsALogNormalToPastDelays() {
        var rng = SimulationRandom(seed: 3)
        let delays = (0..<4000).map { _ in 40 * exp(0.6 * rng.gaussian()) }
        let fitted = DelayModel.fit(delaysSeconds: delays)
        #expect(abs(fitted.medianSeconds - 40) < 1.5)
        #expect(abs(fitted.sigma - 0.6) < 0.03)
        #expect(abs(fitted.cdf(40) - 0.5) < 0.03)
    }

    @Test func withoutEnoughHistoryTheDefaultsHold() {
        #expect(DelayModel.fit(delaysSeconds: []) == DelayModel(medianSeconds: 75, sigma: 0.8))
        #expect(DelayModel.fit(delaysSeconds: Array(repeating: 3, count: DelayModel.minimumSamples - 1)) == .default)
        #expect(DeadlineModel() == DeadlineModel(acceptanceRate: 0.3, delay: .default))
    }

    @Test func theFitStaysWithinItsClamps() {
        let instant = DelayModel.fit(delaysSeconds: Array(repeating: 0, count: 50))
        #expect(instant.medianSeconds == DelayModel.medianRange.lowerBound && instant.sigma == DelayModel.sigmaRange.lowerBound)
        let glacial = DelayModel.fit(delaysSeconds: (0..<50).map { $0.isMultiple(of: 2) ? 1 : 1e7 })
        #expect(glacial.medianSeconds <= DelayModel.medianRange.upperBound && glacial.sigma == DelayModel.sigmaRange.upperBound)
        // Non-finite delays are ignored rather than poisoning the fit.
        let noisy = DelayModel.fit(delaysSeconds: Array(repeating: 60, count: 20) + [.nan, .infinity])
        #expect(abs(noisy.medianSeconds - 60) < 1e-9)
        #expect(DelayModel(medianSeconds: .nan, sigma: 0).clamped == .default)
        #expect(DelayModel(medianSeconds: 1, sigma: 9).clamped == DelayModel(medianSeconds: 5, sigma: 2))
    }

    @Test func aLearntSlowerCrowdIsAlertedEarlierAndInGreaterNumbers() {
        let quick = DeadlineModel(acceptanceRate: 0.3, delay: DelayModel(medianSeconds: 30, sigma: 0.5))
        let slow = DeadlineModel(acceptanceRate: 0.3, delay: DelayModel(medianSeconds: 240, sigma: 0.8))
        #expect(plan(secondsLeft: 300, remaining: 10, model: slow).alertNow > plan(secondsLeft: 300, remaining: 10, model: quick).alertNow)
        let keen = DeadlineModel(acceptanceRate: 0.6, delay: .default)
        #expect(plan(secondsLeft: 300, remaining: 10, model: keen).alertNow < plan(secondsLeft: 300, remaining: 10).alertNow / 2 + 2)
    }
}
