/// Which push-reachable volunteers have a socket open on another node (PROTOCOL.md §9). A
/// push goes to a volunteer only while they have no open connection on any node: one with
/// a tab on another node is alerted there, on the socket, so this node does not push them.
///
/// Each node announces its own push-reachable volunteers as they connect and disconnect
/// (``takeNews()``), and all of them again every ``refreshInterval``, so that what a node
/// missed while it did not listen is put right and a dead node's volunteers are forgotten.
struct ClusterPresence {
    /// How often a node announces every push-reachable volunteer connected to it.
    static let refreshInterval: Duration = .seconds(30)
    /// A volunteer not announced again for this long is no longer taken to be there.
    static let staleAfter: Duration = .seconds(75)

    /// By volunteer: the other nodes they are connected to, and when that was last heard.
    private var elsewhere: [String: [String: ContinuousClock.Instant]] = [:]
    private var arrived: Set<String> = []
    private var left: Set<String> = []

    /// Whether `vid` has a socket open on another node.
    func isElsewhere(_ vid: String) -> Bool {
        guard !elsewhere.isEmpty, let nodes = elsewhere[vid] else { return false }
        let now = ContinuousClock.now
        return nodes.values.contains { now - $0 < Self.staleAfter }
    }

    /// Every volunteer with a socket open on another node.
    func connectedElsewhere() -> Set<String> {
        let now = ContinuousClock.now
        return Set(elsewhere.filter { $0.value.values.contains { now - $0 < Self.staleAfter } }.keys)
    }

    /// This node's news: `vid`'s first socket opened here, or the last one closed.
    mutating func connected(_ vid: String) {
        left.remove(vid)
        arrived.insert(vid)
    }

    mutating func disconnected(_ vid: String) {
        arrived.remove(vid)
        left.insert(vid)
    }

    /// The news not announced yet, now handed over for announcing.
    mutating func takeNews() -> (arrived: [String], left: [String]) {
        defer { (arrived, left) = ([], []) }
        return (Array(arrived), Array(left))
    }

    /// What `node` announced.
    mutating func heard(from node: String, present: [String], absent: [String]) {
        let now = ContinuousClock.now
        for vid in present { elsewhere[vid, default: [:]][node] = now }
        for vid in absent {
            elsewhere[vid]?[node] = nil
            if elsewhere[vid]?.isEmpty == true { elsewhere[vid] = nil }
        }
    }

    /// Forgets what nodes other than `live` announced, and announcements gone stale.
    mutating func keep(_ live: Set<String>) {
        let now = ContinuousClock.now
        elsewhere = elsewhere.compactMapValues { nodes in
            let kept = nodes.filter { live.contains($0.key) && now - $0.value < Self.staleAfter }
            return kept.isEmpty ? nil : kept
        }
    }
}
