import Foundation
import HelferrufCore

/// A committed change the other nodes of one PostgreSQL database must know about
/// (PROTOCOL.md §9). The ledger that committed it announces it with `NOTIFY` in the same
/// transaction, so it is delivered if and only if the change committed, in commit order.
///
/// An event names what changed, not the call's new state: the receiving node reads the call
/// from the database, so an event stays small whatever the call holds, and a node that reads
/// late sees the newer state, never an older one.
public struct ClusterEvent: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable {
        /// A call was posted.
        case created
        /// A call's status or figures changed (confirmations, alerts, waves, funnel counts).
        case changed
        /// These volunteers declined the call: no node alerts them for it again.
        case declined
        /// The organisation removed these helpers (§11): they are told, and not alerted again.
        case removed
        /// These volunteers were confirmed from the standby list.
        case promoted
        /// A message for the call's confirmed helpers (`volunteers`), stored as `messageId`.
        case message
        /// These volunteers accepted or withdrew from a `deadline` call: its planner, on the
        /// node that drives it, counts them as answered (declines come as `declined`).
        case answered
    }

    public var kind: Kind
    public var callId: String
    public var volunteers: [String]
    public var messageId: String?

    public init(_ kind: Kind, callId: String, volunteers: [String] = [], messageId: String? = nil) {
        self.kind = kind
        self.callId = callId
        self.volunteers = volunteers
        self.messageId = messageId
    }

    enum CodingKeys: String, CodingKey {
        case kind = "k", callId = "c", volunteers = "v", messageId = "m"
    }

    /// Volunteer lists longer than this are split over several events, so that no single
    /// event comes near PostgreSQL's 8,000-byte limit on a notification's payload.
    static let volunteersPerEvent = 100

    /// What a committed batch tells the other nodes, in commit order; a call's `changed`
    /// comes once per batch, after the batch's other events of that call.
    public static func events(of outcomes: [RosterOutcome]) -> [ClusterEvent] {
        var events: [ClusterEvent] = []
        var changed: [String] = []
        var seen: Set<String> = []
        var answered: [String: [String]] = [:]
        /// One event per `volunteersPerEvent` volunteers; none for none.
        func split(_ kind: Kind, _ cid: String, _ vids: [String], messageId: String? = nil) {
            for start in stride(from: 0, to: vids.count, by: volunteersPerEvent) {
                events.append(ClusterEvent(kind, callId: cid, volunteers: Array(vids[start..<min(start + volunteersPerEvent, vids.count)]), messageId: messageId))
            }
        }
        for outcome in outcomes {
            guard let call = outcome.call, outcome.result != .unavailable else { continue }
            switch outcome.change {
            case .createCall:
                events.append(ClusterEvent(.created, callId: call.id))
                continue
            case .decline(let cid, let vid) where outcome.result == .done:
                events.append(ClusterEvent(.declined, callId: cid, volunteers: [vid]))
            case .remove(let cid, _, let vid) where outcome.result == .done:
                events.append(ClusterEvent(.removed, callId: cid, volunteers: [vid]))
            case .accept(let cid, let vid, _, _) where call.dispatch.isDeadline && [.answer(.confirmed), .answer(.standby), .answer(.full)].contains(outcome.result),
                 .withdraw(let cid, let vid) where call.dispatch.isDeadline && outcome.result == .answer(.withdrawn):
                if answered[cid] == nil { answered[cid] = [] }
                answered[cid]!.append(vid)
            default:
                break
            }
            split(.promoted, call.id, outcome.promoted)
            // A message with no confirmed helpers to go to has nobody to reach on another node.
            if let message = outcome.message { split(.message, call.id, outcome.recipients, messageId: message.id) }
            if outcome.changed, seen.insert(call.id).inserted { changed.append(call.id) }
        }
        for (cid, vids) in answered.sorted(by: { $0.key < $1.key }) { split(.answered, cid, vids) }
        return events + changed.map { ClusterEvent(.changed, callId: $0) }
    }
}
