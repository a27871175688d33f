/// The cluster half of a `waves` or `deadline` call's step (PROTOCOL.md §9): the node that
/// drives the call asks every node for its nearest eligible volunteers not alerted yet
/// (``CandidateQuery``), picks the step's volunteers from all answers, and orders each node
/// to alert those on its sockets (``AlertOrder``). Distances travel, positions never do.

/// A volunteer a node could alert for a call, and their distance from it in kilometres.
public struct Candidate: Sendable, Equatable, Codable {
    public var volunteerId: String
    public var distanceKm: Double

    public init(volunteerId: String, distanceKm: Double) {
        (self.volunteerId, self.distanceKm) = (volunteerId, distanceKm)
    }

    enum CodingKeys: String, CodingKey {
        case volunteerId = "v", distanceKm = "d"
    }
}

/// The most candidates one answer (or one order) names: with volunteer ids (UUIDs) and
/// distances at full precision, about 70 bytes each, a notice stays under its limit.
public let maxCandidatesPerNotice = 80

/// A driving node asks every node for the candidates of `callId`'s next step.
public struct CandidateQuery: Sendable, Equatable, Codable {
    public var id: String
    public var callId: String
    /// The radius the call has reached (a waves call grows it): answers come from within it.
    public var reachedRadiusKm: Double
    /// The nearest this many, at most ``maxCandidatesPerNotice``.
    public var limit: Int

    public init(id: String, callId: String, reachedRadiusKm: Double, limit: Int) {
        (self.id, self.callId, self.reachedRadiusKm, self.limit) = (id, callId, reachedRadiusKm, limit)
    }

    enum CodingKeys: String, CodingKey {
        case id = "i", callId = "c", reachedRadiusKm = "r", limit = "l"
    }
}

/// One node's answer to a ``CandidateQuery``, addressed to the node that asked: how many
/// volunteers on its sockets could be alerted, and the nearest of them.
public struct CandidateAnswer: Sendable, Equatable, Codable {
    public var id: String
    public var to: String
    public var available: Int
    public var nearest: [Candidate]

    public init(id: String, to: String, available: Int, nearest: [Candidate]) {
        (self.id, self.to, self.available, self.nearest) = (id, to, available, nearest)
    }

    enum CodingKeys: String, CodingKey {
        case id = "i", to = "t", available = "a", nearest = "m"
    }
}

/// The driving node's order to node `to`: alert these volunteers of `callId` on their
/// sockets there. The driver has recorded them as alerted.
public struct AlertOrder: Sendable, Equatable, Codable {
    public var to: String
    public var callId: String
    public var reachedRadiusKm: Double
    public var volunteers: [Candidate]

    public init(to: String, callId: String, reachedRadiusKm: Double, volunteers: [Candidate]) {
        (self.to, self.callId, self.reachedRadiusKm, self.volunteers) = (to, callId, reachedRadiusKm, volunteers)
    }

    enum CodingKeys: String, CodingKey {
        case to = "t", callId = "c", reachedRadiusKm = "r", volunteers = "m"
    }
}
