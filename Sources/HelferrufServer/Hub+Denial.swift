import HelferrufCore
import HelferrufStore

extension Hub {
    // MARK: Blocks and removals (PROTOCOL.md §11)

    /// Whether the organisation of active call `cid` blocked `vid`.
    func isBlocked(_ vid: String, for cid: String, _ s: State) -> Bool {
        guard !s.blocked.isEmpty, let org = s.active[cid]?.call.orgId else { return false }
        return s.blocked[org]?.contains(vid) == true
    }

    /// Applies a committed block to the live state: from now on the organisation's calls
    /// alert the volunteer on no socket and by no push.
    func block(_ vid: String, org: String) {
        state.withLock { s in _ = s.blocked[org, default: []].insert(vid) }
    }

    /// Lifts a block; the volunteer is alerted for the organisation's open calls they are
    /// eligible for as soon as the next match runs for them (location, availability,
    /// reconnect) or a new call is posted.
    func unblock(_ vid: String, org: String) {
        state.withLock { s in
            s.blocked[org]?.remove(vid)
            if s.blocked[org]?.isEmpty == true { s.blocked[org] = nil }
            alertNewlyEligible(vid, &s)
        }
    }

    /// Tells a removed helper on every open socket, and stops alerting them for the call
    /// (the ledger refuses their accepts of it from now on).
    func tellRemoved(_ vid: String, from call: Call, _ s: inout State, callId: String) {
        let frame = Wire.callUpdate(call, removed: true)
        for conn in (s.volunteerSockets[vid] ?? [:]).values { conn.outbox.send(frame) }
        Self.recordDecline(callId, volunteer: vid, &s)
        telemetry.removals.increment()
    }

    /// A volunteer who declined a call, or was removed from it: never alerted for it again.
    static func recordDecline(_ cid: String, volunteer vid: String, _ s: inout State) {
        s.matcher.recordDecline(cid, volunteer: vid)
        s.active[cid]?.declined.insert(vid)
    }
}
