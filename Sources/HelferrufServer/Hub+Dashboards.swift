import HelferrufCore
import NIOCore

extension Hub {
    // MARK: Dashboards

    /// Registers a dashboard socket and queues its snapshot. Returns nil while draining.
    func attachDashboard(orgId: String, outbox: Outbox, stored: [Call]) -> DashboardConnection? {
        let conn: DashboardConnection? = state.withLock { s in
            guard !s.draining else { return nil }
            s.nextConnectionId += 1
            let conn = DashboardConnection(id: s.nextConnectionId, orgId: orgId, outbox: outbox)
            outbox.onOverload { [telemetry] in telemetry.overloaded($0) }
            s.dashboards[orgId, default: [:]][conn.id] = conn
            outbox.send(Wire.snapshot(stored.map { s.active[$0.id]?.call ?? $0 }))
            return conn
        }
        if conn != nil { telemetry.dashboardSockets.increment() }
        return conn
    }

    func detach(_ conn: DashboardConnection) {
        let removed = state.withLock { s -> Bool in
            guard s.dashboards[conn.orgId]?.removeValue(forKey: conn.id) != nil else { return false }
            if s.dashboards[conn.orgId]?.isEmpty == true { s.dashboards[conn.orgId] = nil }
            return true
        }
        if removed { telemetry.dashboardSockets.decrement() }
    }

    /// Sends pending dashboard updates whose call has not been sent within the last second;
    /// the rest wait for a later flush, so the last update always carries current figures.
    func flushDashboards(_ s: inout State, now: Timestamp) {
        guard !s.dashboardPending.isEmpty else { return }
        for (cid, call) in s.dashboardPending {
            guard let sockets = s.dashboards[call.orgId], !sockets.isEmpty else {
                s.dashboardPending[cid] = nil
                continue
            }
            if let last = s.dashboardLastSent[cid], now.millis - last.millis < Self.dashboardIntervalMillis { continue }
            let frame = Wire.dashboardCall(call)
            for conn in sockets.values { conn.outbox.send(frame) }
            s.dashboardLastSent[cid] = now
            s.dashboardPending[cid] = nil
        }
    }
}
