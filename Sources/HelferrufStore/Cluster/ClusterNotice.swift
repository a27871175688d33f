import Foundation
import HelferrufCore

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

/// A volunteer's availability, set on one of their connections: every node with a socket of
/// theirs takes it (PROTOCOL.md §9: availability is shared by all of a volunteer's
/// connections, on whatever nodes). Their position is not sent: each tab sends its own, and
/// PostgreSQL may write its notification queue to disk.
public struct AvailabilityChange: Sendable, Equatable, Codable {
    public var volunteerId: String
    public var available: Bool
    /// Milliseconds since the epoch, for availability that ends.
    public var until: Int64?

    public init(volunteerId: String, available: Bool, until: Int64?) {
        (self.volunteerId, self.available, self.until) = (volunteerId, available, until)
    }

    public init(volunteerId: String, _ availability: Availability) {
        switch availability {
        case .unavailable: self.init(volunteerId: volunteerId, available: false, until: nil)
        case .available(let until): self.init(volunteerId: volunteerId, available: true, until: until?.millis)
        }
    }

    public var availability: Availability {
        available ? .available(until: until.map { Timestamp(millis: $0) }) : .unavailable
    }

    enum CodingKeys: String, CodingKey {
        case volunteerId = "v", available = "a", until = "u"
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
    /// A driving node's question for a step's candidates, an answer to one, an order.
    public var candidates: CandidateQuery?
    public var offered: CandidateAnswer?
    public var order: AlertOrder?
    /// Push-reachable volunteers whose first socket on the sending node opened, or whose
    /// last one there closed: while connected anywhere, they are not pushed.
    public var present: [String]
    public var absent: [String]
    public var availability: [AvailabilityChange]

    public init(
        node: String, events: [ClusterEvent] = [], blocks: [BlockChange] = [], volunteers: [String] = [], reach: ReachQuery? = nil,
        reached: ReachAnswer? = nil, candidates: CandidateQuery? = nil, offered: CandidateAnswer? = nil, order: AlertOrder? = nil,
        present: [String] = [], absent: [String] = [], availability: [AvailabilityChange] = []
    ) {
        (self.node, self.events, self.blocks, self.volunteers, self.reach, self.reached) = (node, events, blocks, volunteers, reach, reached)
        (self.candidates, self.offered, self.order, self.present, self.absent) = (candidates, offered, order, present, absent)
        self.availability = availability
    }

    /// The most volunteer ids one notice names in `present` and `absent` together.
    public static let maxPresencePerNotice = 120

    enum CodingKeys: String, CodingKey {
        case node = "n", events = "e", blocks = "b", volunteers = "v", reach = "q", reached = "a", candidates = "cq", offered = "ca",
            order = "o", present = "p", absent = "x", availability = "av"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        node = try c.decode(String.self, forKey: .node)
        events = try c.decodeIfPresent([ClusterEvent].self, forKey: .events) ?? []
        blocks = try c.decodeIfPresent([BlockChange].self, forKey: .blocks) ?? []
        volunteers = try c.decodeIfPresent([String].self, forKey: .volunteers) ?? []
        reach = try c.decodeIfPresent(ReachQuery.self, forKey: .reach)
        reached = try c.decodeIfPresent(ReachAnswer.self, forKey: .reached)
        candidates = try c.decodeIfPresent(CandidateQuery.self, forKey: .candidates)
        offered = try c.decodeIfPresent(CandidateAnswer.self, forKey: .offered)
        order = try c.decodeIfPresent(AlertOrder.self, forKey: .order)
        present = try c.decodeIfPresent([String].self, forKey: .present) ?? []
        absent = try c.decodeIfPresent([String].self, forKey: .absent) ?? []
        availability = try c.decodeIfPresent([AvailabilityChange].self, forKey: .availability) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(node, forKey: .node)
        if !events.isEmpty { try c.encode(events, forKey: .events) }
        if !blocks.isEmpty { try c.encode(blocks, forKey: .blocks) }
        if !volunteers.isEmpty { try c.encode(volunteers, forKey: .volunteers) }
        try c.encodeIfPresent(reach, forKey: .reach)
        try c.encodeIfPresent(reached, forKey: .reached)
        try c.encodeIfPresent(candidates, forKey: .candidates)
        try c.encodeIfPresent(offered, forKey: .offered)
        try c.encodeIfPresent(order, forKey: .order)
        if !present.isEmpty { try c.encode(present, forKey: .present) }
        if !absent.isEmpty { try c.encode(absent, forKey: .absent) }
        if !availability.isEmpty { try c.encode(availability, forKey: .availability) }
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
