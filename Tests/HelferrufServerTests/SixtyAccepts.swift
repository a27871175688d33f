import Testing

extension LiveServer {
    /// Sixty available volunteers on sockets accept a call needing ten at the same moment.
    /// Checks that each socket gets its own `accept_result` and the "filled" update; returns
    /// the call's id and how many sockets heard each result. The sockets are closed.
    func sixtyAcceptsForTen() async throws -> (callId: String, results: [String: Int]) {
        try await Self.sixtyAcceptsForTen(over: [self])
    }

    /// As ``sixtyAcceptsForTen()``, with the volunteers spread over `nodes` (one database):
    /// volunteer i registers and connects on node i mod n, the call is posted on the first.
    static func sixtyAcceptsForTen(over nodes: [LiveServer]) async throws -> (callId: String, results: [String: Int]) {
        var sockets: [WSProbe] = []
        for i in 0..<60 {
            let node = nodes[i % nodes.count]
            let v = try await node.volunteer("V\(i)")
            sockets.append(try await node.availableVolunteer(token: v.token).0)
        }
        try await Task.sleep(for: .milliseconds(200))
        let posted = try await nodes[0].call(needed: 10)
        let id = posted["id"] as! String
        for w in sockets { _ = try await w.receive(type: "alert") }
        for (i, w) in sockets.enumerated() { w.send(["type": "accept", "callId": id, "requestId": "r\(i)"]) }
        var results: [String: Int] = [:]
        for (i, w) in sockets.enumerated() {
            // Each socket gets its answer and, as one of those alerted, the "filled" update
            // (live counter updates of §7 may come before it).
            var answer: JSON?, update: JSON?
            while answer == nil || update == nil {
                let m = try await w.receive(timeout: .seconds(10))
                if m["type"] as? String == "accept_result" { answer = m }
                if m["type"] as? String == "call_update", m["status"] as? String == "filled" { update = m }
            }
            #expect(answer?["requestId"] as? String == "r\(i)" && answer?["callId"] as? String == id)
            results[answer?["result"] as? String ?? "?", default: 0] += 1
            #expect(update?["status"] as? String == "filled" && update?["confirmed"] as? Int == 10 && update?["needed"] as? Int == 10)
        }
        for w in sockets { w.close() }
        return (id, results)
    }
}
