/// The answer to an accept or withdraw, as `accept_result.result` carries it.
public enum AcceptResult: String, Sendable, Codable {
    case confirmed, full, closed
    case notEligible = "not_eligible"
    case withdrawn
    /// Queued on the call's standby list (PROTOCOL.md §7).
    case standby
    /// The volunteer already holds the most confirmations and standby places allowed for
    /// calls overlapping this one in time (PROTOCOL.md §11); nothing was stored.
    case limit
}

/// The first-N rules of PROTOCOL.md §4 and §7, as pure decisions over a call's committed state.
///
/// The durable ledger evaluates these inside its write transaction with the facts it has
/// just read, so that what it commits and what it answers always agree.
public enum FillRules {
    /// The largest party one accept may bring.
    public static let partyRange = 1...10

    /// What an accept must answer, in the contract's order: already confirmed → confirmed
    /// (whatever the status, whatever party size is asked now); cancelled or expired →
    /// closed; already queued → standby; neither eligible nor ever alerted → not_eligible;
    /// already holding the most overlapping places (`overLimit`, §11) → limit; the whole
    /// party does not fit → standby where the call keeps a list, else full; otherwise a new
    /// confirmation. `limit` comes before `standby` because a standby place counts too.
    public static func decideAccept(
        alreadyConfirmed: Bool, onStandby: Bool = false, status: CallStatus, eligibleOrAlerted: Bool,
        overLimit: Bool = false, confirmed: Int, needed: Int, party: Int = 1, standbyEnabled: Bool = false
    ) -> AcceptResult {
        if alreadyConfirmed { return .confirmed }
        if status.isEnded { return .closed }
        if onStandby { return .standby }
        if !eligibleOrAlerted { return .notEligible }
        if overLimit { return .limit }
        if status == .filled || confirmed + party > needed { return standbyEnabled ? .standby : .full }
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

    /// Walks a standby queue in order and picks every entry whose party fits into the
    /// places left, each pick using up its places; entries that do not fit keep their turn.
    /// Returns the indices of the promoted entries.
    public static func promotions(parties: [Int], free: Int) -> [Int] {
        var left = free
        var picked: [Int] = []
        for (i, party) in parties.enumerated() where left > 0 && party <= left {
            picked.append(i)
            left -= party
        }
        return picked
    }
}
