import HelferrufCore
import HelferrufStore
import HelferrufSync

/// Single-use tickets with which a signed-in console opens `/ws/dashboard`: the socket
/// cannot carry the session cookie's CSRF protection, and the session secret must not
/// travel in a message a script can read. A ticket is bound to one organisation, lives
/// `lifetime` (30 s by default), is kept in memory only and is gone once redeemed.
final class DashboardTickets: Sendable {
    /// Tickets outstanding at most; issuing one more drops the expired ones first, and if
    /// that is not enough, the oldest.
    static let capacity = 10_000

    private struct Ticket {
        let orgId: String
        let expires: Timestamp
    }

    let lifetimeMillis: Int64
    private let tickets = StateLock<[String: Ticket]>([:])

    init(lifetimeMillis: Int64) {
        self.lifetimeMillis = lifetimeMillis
    }

    /// A new ticket for the organisation and when it expires.
    func issue(orgId: String, now: Timestamp) -> (ticket: String, expires: Timestamp) {
        let ticket = Tokens.generate(.ticket)
        let expires = now.adding(millis: lifetimeMillis)
        tickets.withLock { map in
            if map.count >= Self.capacity {
                map = map.filter { $0.value.expires > now }
                while map.count >= Self.capacity, let oldest = map.min(by: { $0.value.expires < $1.value.expires }) {
                    map[oldest.key] = nil
                }
            }
            map[ticket] = Ticket(orgId: orgId, expires: expires)
        }
        return (ticket, expires)
    }

    /// The organisation of a live ticket, which is used up by this; nil for an unknown,
    /// used or expired one.
    func redeem(_ ticket: String, now: Timestamp) -> String? {
        guard let found = tickets.withLock({ $0.removeValue(forKey: ticket) }), found.expires > now else { return nil }
        return found.orgId
    }
}
