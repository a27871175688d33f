/// Which push-reachable volunteers have a socket open on another node (PROTOCOL.md §9). A
/// push goes to a volunteer only while they have no open connection on any node: one with
/// a tab on another node is alerted there, on the socket, so this node does not push them.
///
/// Each node announces its own push-reachable volunteers as they connect and disconnect
/// (``takeNews()``), and all of them again every ``refreshInterval``, so that what a node
/// missed while it did not listen is put right. What a dead node or a stale announcement
/// says is dropped by ``keep(_:)``, once a second, so lookups need no clock.
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
        !elsewhere.isEmpty && elsewhere[vid] != nil
    }

    /// Every volunteer with a socket open on another node.
    func connectedElsewhere() -> Set<String> {
        Set(elsewhere.keys)
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

    /// Forgets what nodes other than `live` announced, and announcements gone stale; the
    /// entries that stay are not copied.
    mutating func keep(_ live: Set<String>) {
        let now = ContinuousClock.now
        let current = { (node: String, heard: ContinuousClock.Instant) in live.contains(node) && now - heard < Self.staleAfter }
        for (vid, nodes) in elsewhere where !nodes.allSatisfy(current) {
            let kept = nodes.filter(current)
            elsewhere[vid] = kept.isEmpty ? nil : kept
        }
    }
}
