import Testing
@testable import HelferrufCore

@Suite struct FillRulesTests {
    @Test func acceptDecisionFollowsTheContractOrder() {
        // Already confirmed wins over everything, even a cancelled call.
        #expect(FillRules.decideAccept(alreadyConfirmed: true, status: .cancelled, eligibleOrAlerted: false, confirmed: 5, needed: 5) == .confirmed)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .expired, eligibleOrAlerted: true, confirmed: 0, needed: 5) == .closed)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .cancelled, eligibleOrAlerted: false, confirmed: 5, needed: 5) == .closed)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .filled, eligibleOrAlerted: false, confirmed: 5, needed: 5) == .notEligible)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .filled, eligibleOrAlerted: true, confirmed: 5, needed: 5) == .full)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .open, eligibleOrAlerted: true, confirmed: 4, needed: 5) == .confirmed)
    }

    @Test func overlapLimitComesAfterEligibilityAndBeforeFullOrStandby() {
        // §11: the limit answers instead of a confirmation, a standby place or "full" ...
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .open, eligibleOrAlerted: true, overLimit: true, confirmed: 0, needed: 5) == .limit)
        #expect(FillRules.decideAccept(
            alreadyConfirmed: false, status: .filled, eligibleOrAlerted: true, overLimit: true, confirmed: 5, needed: 5, standbyEnabled: true) == .limit)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .filled, eligibleOrAlerted: true, overLimit: true, confirmed: 5, needed: 5) == .limit)
        // ... but never over what the volunteer already holds, an ended call or eligibility.
        #expect(FillRules.decideAccept(alreadyConfirmed: true, status: .open, eligibleOrAlerted: true, overLimit: true, confirmed: 1, needed: 5) == .confirmed)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, onStandby: true, status: .filled, eligibleOrAlerted: true, overLimit: true, confirmed: 5, needed: 5) == .standby)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .cancelled, eligibleOrAlerted: true, overLimit: true, confirmed: 0, needed: 5) == .closed)
        #expect(FillRules.decideAccept(alreadyConfirmed: false, status: .open, eligibleOrAlerted: false, overLimit: true, confirmed: 0, needed: 5) == .notEligible)
        #expect(AcceptResult.limit.rawValue == "limit")
    }

    @Test func withdrawAndStatus() {
        #expect(FillRules.decideWithdraw(status: .filled) == .withdrawn)
        #expect(FillRules.decideWithdraw(status: .open) == .withdrawn)
        #expect(FillRules.decideWithdraw(status: .expired) == .closed)
        #expect(FillRules.status(afterConfirmed: 5, needed: 5) == .filled)
        #expect(FillRules.status(afterConfirmed: 4, needed: 5) == .open)
    }
}
