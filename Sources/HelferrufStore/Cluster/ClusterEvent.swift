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
        func split(_ kind: Kind, _ cid: String, _ vids: [String], messageId: String? = nil) {
            guard !vids.isEmpty else {
                if messageId != nil { events.append(ClusterEvent(kind, callId: cid, messageId: messageId)) }
                return
            }
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
                split(.declined, cid, [vid])
            case .remove(let cid, _, let vid) where outcome.result == .done:
                split(.removed, cid, [vid])
            default:
                break
            }
            split(.promoted, call.id, outcome.promoted)
            if let message = outcome.message { split(.message, call.id, outcome.recipients, messageId: message.id) }
            if outcome.changed, seen.insert(call.id).inserted { changed.append(call.id) }
        }
        return events + changed.map { ClusterEvent(.changed, callId: $0) }
    }
}

/// A block made or lifted (PROTOCOL.md §11): not a ledger change, so the node whose API
/// stored it announces it itself.
public struct BlockChange: Sendable, Equatable, Codable {
    public var orgId: String
    public var volunteerId: String
    public var blocked: Bool

    public init(orgId: String, volunteerId: String, blocked: Bool) {
        self.orgId = orgId
        self.volunteerId = volunteerId
        self.blocked = blocked
    }

    enum CodingKeys: String, CodingKey {
        case orgId = "o", volunteerId = "v", blocked = "b"
    }
}

/// A `/reach` asked of every node (PROTOCOL.md §9): the place, radius and skills of a call
/// that might be posted, never a volunteer's position.
public struct ReachQuery: Sendable, Equatable, Codable {
    public var id: String
    public var lat: Double
    public var lon: Double
    public var radiusKm: Double
    public var skills: [String]
    public var orgId: String

    public init(id: String, lat: Double, lon: Double, radiusKm: Double, skills: [String], orgId: String) {
        (self.id, self.lat, self.lon, self.radiusKm, self.skills, self.orgId) = (id, lat, lon, radiusKm, skills, orgId)
    }
}

/// One node's counts for a ``ReachQuery``, addressed to the node that asked.
public struct ReachAnswer: Sendable, Equatable, Codable {
    public var id: String
    public var to: String
    public var available: Int
    public var connected: Int

    public init(id: String, to: String, available: Int, connected: Int) {
        (self.id, self.to, self.available, self.connected) = (id, to, available, connected)
    }
}

/// One notification's payload: the node that sent it, and what it tells the others. Every
/// part is optional on the wire; a notice with only its node is a heartbeat ("still here"),
/// which is how nodes know whom a `/reach` waits for.
public struct ClusterNotice: Sendable, Equatable, Codable {
    public var node: String
    public var events: [ClusterEvent]
    public var blocks: [BlockChange]
    /// Volunteers whose profile or push subscriptions changed: read them again.
    public var volunteers: [String]
    public var reach: ReachQuery?
    public var reached: ReachAnswer?

    public init(
        node: String, events: [ClusterEvent] = [], blocks: [BlockChange] = [], volunteers: [String] = [], reach: ReachQuery? = nil,
        reached: ReachAnswer? = nil
    ) {
        (self.node, self.events, self.blocks, self.volunteers, self.reach, self.reached) = (node, events, blocks, volunteers, reach, reached)
    }

    enum CodingKeys: String, CodingKey {
        case node = "n", events = "e", blocks = "b", volunteers = "v", reach = "q", reached = "a"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        node = try c.decode(String.self, forKey: .node)
        events = try c.decodeIfPresent([ClusterEvent].self, forKey: .events) ?? []
        blocks = try c.decodeIfPresent([BlockChange].self, forKey: .blocks) ?? []
        volunteers = try c.decodeIfPresent([String].self, forKey: .volunteers) ?? []
        reach = try c.decodeIfPresent(ReachQuery.self, forKey: .reach)
        reached = try c.decodeIfPresent(ReachAnswer.self, forKey: .reached)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node)
        if !events.isEmpty { try c.encode(events, forKey: .events) }
        if !blocks.isEmpty { try c.encode(blocks, forKey: .blocks) }
        if !volunteers.isEmpty { try c.encode(volunteers, forKey: .volunteers) }
        try c.encodeIfPresent(reach, forKey: .reach)
        try c.encodeIfPresent(reached, forKey: .reached)
    }

    /// PostgreSQL refuses a payload of 8,000 bytes or more; this leaves room to spare.
    static let maxPayloadBytes = 7000

    /// This notice as a payload, if it fits (a reach query names at most 20 skills).
    public var payload: String? {
        guard let data = try? JSONEncoder().encode(self), data.count < Self.maxPayloadBytes else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// The payloads that carry `events`, each under ``maxPayloadBytes``.
    public static func payloads(node: String, _ events: [ClusterEvent]) -> [String] {
        let encoder = JSONEncoder()
        var payloads: [String] = []
        var pending: [ClusterEvent] = []
        var size = 0
        func flush() {
            guard !pending.isEmpty, let data = try? encoder.encode(ClusterNotice(node: node, events: pending)) else { return }
            payloads.append(String(decoding: data, as: UTF8.self))
            pending = []
            size = 0
        }
        for event in events {
            let eventSize = (try? encoder.encode(event).count) ?? 0
            if size + eventSize + node.utf8.count + 32 > maxPayloadBytes { flush() }
            pending.append(event)
            size += eventSize + 1
        }
        flush()
        return payloads
    }

    /// The notice in `payload`; nil for anything else (a payload is read like any input).
    public static func decode(_ payload: String) -> ClusterNotice? {
        guard payload.utf8.count < 8000 else { return nil }
        return try? JSONDecoder().decode(ClusterNotice.self, from: Data(payload.utf8))
    }
}

/// The other nodes of the same database, for an engine that runs several nodes on one.
public protocol ClusterFeed: Sendable {
    /// This process's node id: its own notices come back to it and are skipped.
    var node: String { get }

    /// Runs until cancelled. Calls `resync` each time it starts or resumes listening (what
    /// was committed while it did not listen is only in the database), then `receive` for
    /// each notice another node sent, in the order they were sent.
    func run(resync: @escaping @Sendable () async -> Void, receive: @escaping @Sendable (ClusterNotice) async -> Void) async

    /// Sends `notice` to the other nodes (outside any transaction: delivered at once).
    func publish(_ notice: ClusterNotice) async throws
}
