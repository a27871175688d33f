/// The answer to an accept or withdraw, as `accept_result.result` carries it.
public enum AcceptResult: String, Sendable, Codable {
    case confirmed, full, closed
    case notEligible = "not_eligible"
    case withdrawn
}

/// The first-N rules of PROTOCOL.md §4, as pure decisions over a call's committed state.
///
/// The durable ledger evaluates these inside its write transaction with the facts it has
/// just read, so that what it commits and what it answers always agree.
public enum FillRules {
    /// What an accept must answer, in the contract's order: already confirmed → confirmed
    /// (whatever the status); cancelled or expired → closed; neither eligible nor ever
    /// alerted → not_eligible; no place left → full; otherwise a new confirmation.
    public static func decideAccept(
        alreadyConfirmed: Bool, status: CallStatus, eligibleOrAlerted: Bool, confirmed: Int, needed: Int
    ) -> AcceptResult {
        if alreadyConfirmed { return .confirmed }
        if status.isEnded { return .closed }
        if !eligibleOrAlerted { return .notEligible }
        if confirmed >= needed || status == .filled { return .full }
        return .confirmed
    }

    /// Withdraw answers `withdrawn` (also with nothing to withdraw), or `closed` once the
    /// call has ended.
    public static func decideWithdraw(status: CallStatus) -> AcceptResult {
        status.isEnded ? .closed : .withdrawn
    }

    /// The status after the confirmed count changed on a call that has not ended.
    public static func status(afterConfirmed confirmed: Int, needed: Int) -> CallStatus {
        confirmed >= needed ? .filled : .open
    }
}
