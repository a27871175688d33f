import HelferrufCore
import HelferrufStore
import NIOCore

/// Encoders for every message and object of the wire contract (PROTOCOL.md).
enum Wire {
    /// The call object's fields, without the closing brace, so that an alert can append
    /// `distanceKm` to the same bytes.
    static func openCallObject(_ c: Call, into w: inout JSONWriter) {
        w.raw("{")
        w.key("id", first: true); w.string(c.id)
        w.key("orgId"); w.string(c.orgId)
        w.key("orgName"); w.string(c.orgName)
        w.key("title"); w.string(c.title)
        w.key("description"); w.string(c.description)
        w.key("address"); w.string(c.address)
        w.key("location"); w.raw("{\"lat\":"); w.number(c.location.lat); w.raw(",\"lon\":"); w.number(c.location.lon); w.raw("}")
        w.key("radiusKm"); w.number(c.radiusKm)
        w.key("needed"); w.int(c.needed)
        w.key("skills"); w.stringArray(c.skills)
        w.key("startsAt"); w.time(c.startsAt)
        w.key("endsAt"); w.time(c.endsAt)
        w.key("createdAt"); w.time(c.createdAt)
        w.key("status"); w.string(c.status.rawValue)
        w.key("confirmed"); w.int(c.confirmed)
        w.key("alerted"); w.int(c.alerted)
        w.key("declined"); w.int(c.declined)
        w.key("endedAt"); w.optionalTime(c.endedAt)
        dispatchFields(c, into: &w)
    }

    /// The call object's §7 fields. The input's `standby: true` comes back as
    /// `standbyEnabled`, because the object's `standby` counts the entries queued.
    static func dispatchFields(_ c: Call, into w: inout JSONWriter) {
        w.key("delivered"); w.int(c.delivered)
        w.key("seen"); w.int(c.seen)
        w.key("checkedIn"); w.int(c.checkedIn)
        w.key("standby"); w.int(c.standby)
        w.key("standbyEnabled"); w.raw(c.standbyEnabled ? "true" : "false")
        w.key("suppressed"); w.int(c.suppressed)
        w.key("reachedRadiusKm"); w.number(c.reachedRadiusKm)
        w.key("waves"); w.int(c.waves)
        w.key("dispatch")
        switch c.dispatch {
        case .broadcast:
            w.raw("{\"mode\":\"broadcast\"}")
        case .waves(let maxRadius, let seconds):
            w.raw("{\"mode\":\"waves\",\"maxRadiusKm\":"); w.number(maxRadius)
            w.raw(",\"waveSeconds\":"); w.int(seconds)
            w.raw(",\"acceptanceRate\":"); w.number(c.acceptanceRate)
            w.raw("}")
        case .deadline(let fillBy, let confidence, let maxRadius):
            w.raw("{\"mode\":\"deadline\",\"fillBy\":"); w.time(fillBy)
            w.raw(",\"confidence\":"); w.number(confidence)
            w.raw(",\"maxRadiusKm\":"); w.number(maxRadius)
            w.raw(",\"acceptanceRate\":"); w.number(c.acceptanceRate)
            w.raw(",\"medianDelaySeconds\":"); w.number(c.delayModel.medianSeconds)
            w.raw(",\"delaySigma\":"); w.number(c.delayModel.sigma)
            w.raw("}")
        }
        deadlineFields(c, into: &w)
    }

    /// The call object's §10 fields: `fillBy` and `plan`, null for other modes. A deadline
    /// call without a live plan (ended, or not planned since a restart) shows its figures
    /// as they stand. `lastAlertAt` and `lastAlerted` tell the console when the planner last
    /// alerted more volunteers, and how many.
    static func deadlineFields(_ c: Call, into w: inout JSONWriter) {
        guard case .deadline(let fillBy, _, _) = c.dispatch else {
            w.key("fillBy"); w.raw("null")
            w.key("plan"); w.raw("null")
            return
        }
        let plan = c.plan ?? DeadlinePlan(expected: Double(c.confirmed), onTrack: c.confirmed >= c.needed)
        w.key("fillBy"); w.time(fillBy)
        w.key("plan"); w.raw("{\"expected\":"); w.number((plan.expected * 100).rounded() / 100)
        w.raw(",\"onTrack\":"); w.raw(plan.onTrack ? "true" : "false")
        w.raw(",\"lastAlertAt\":"); w.optionalTime(plan.lastAlertAt)
        w.raw(",\"lastAlerted\":"); w.int(plan.lastAlertCount)
        w.raw("}")
    }

    static func call(_ c: Call, into w: inout JSONWriter) {
        openCallObject(c, into: &w)
        w.raw("}")
    }

    static func call(_ c: Call) -> [UInt8] {
        var w = JSONWriter(capacity: 512)
        call(c, into: &w)
        return w.bytes
    }

    static func calls(_ list: [Call], key: StaticString) -> [UInt8] {
        var w = JSONWriter(capacity: 512 * list.count + 16)
        w.raw("{")
        w.key(key, first: true)
        w.raw("[")
        for (i, c) in list.enumerated() {
            if i > 0 { w.raw(",") }
            call(c, into: &w)
        }
        w.raw("]}")
        return w.bytes
    }

    /// Distances go out rounded to the metre.
    static func roundedKm(_ d: Double) -> Double { (d * 1000).rounded() / 1000 }

    static func alertObject(_ c: Call, distanceKm: Double, into w: inout JSONWriter) {
        openCallObject(c, into: &w)
        w.raw(",\"distanceKm\":")
        w.number(roundedKm(distanceKm))
        w.raw("}")
    }

    /// `confirmed` calls carry `mine` (an addition): the volunteer's own party size and
    /// whether they are checked in, so that a reloaded page on any device shows them.
    static func welcome(
        volunteerId: String, alerts: [(call: Call, distanceKm: Double)], confirmed: [Call], mine: [String: OwnPlace], standby: [Call]
    ) -> ByteBuffer {
        var w = JSONWriter(capacity: 128 + 700 * (alerts.count + confirmed.count + standby.count))
        w.raw("{\"type\":\"welcome\",\"volunteerId\":")
        w.string(volunteerId)
        w.raw(",\"alerts\":[")
        for (i, (c, d)) in alerts.enumerated() {
            if i > 0 { w.raw(",") }
            alertObject(c, distanceKm: d, into: &w)
        }
        w.raw("],\"confirmed\":[")
        for (i, c) in confirmed.enumerated() {
            if i > 0 { w.raw(",") }
            openCallObject(c, into: &w)
            if let own = mine[c.id] {
                w.raw(",\"mine\":{\"party\":"); w.int(own.party)
                w.raw(",\"checkedIn\":"); w.raw(own.checkedIn ? "true" : "false"); w.raw("}")
            }
            w.raw("}")
        }
        w.raw("],\"standby\":[")
        for (i, c) in standby.enumerated() {
            if i > 0 { w.raw(",") }
            call(c, into: &w)
        }
        w.raw("]}")
        return ByteBuffer(bytes: w.bytes)
    }

    /// A standby volunteer was confirmed: sent on every open connection, with no request.
    static func promoted(callId: String) -> ByteBuffer {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"type\":\"accept_result\",\"callId\":")
        w.string(callId)
        w.raw(",\"requestId\":null,\"result\":\"confirmed\",\"promoted\":true}")
        return ByteBuffer(bytes: w.bytes)
    }

    /// A message's fields after an opening `{` and before the closing brace: the same in the
    /// socket frame, the list and the answer to posting one.
    static func messageFields(_ m: CallMessage, into w: inout JSONWriter) {
        w.key("id", first: true); w.string(m.id)
        w.key("callId"); w.string(m.callId)
        w.key("kind"); w.string(m.kind.rawValue)
        w.key("text"); w.string(m.text)
        w.key("at"); w.time(m.at)
    }

    static func message(_ m: CallMessage) -> ByteBuffer {
        var w = JSONWriter(capacity: 128 + m.text.utf8.count)
        w.raw("{")
        messageFields(m, into: &w)
        w.raw(",\"type\":\"message\"}")
        return ByteBuffer(bytes: w.bytes)
    }

    /// The answer to a `checkin` or `checkout` (an addition to the contract, which names
    /// none): where the volunteer stands now.
    static func checkinResult(callId: String, requestId: String?, checkedIn: Bool) -> ByteBuffer {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"type\":\"checkin_result\",\"callId\":")
        w.string(callId)
        w.raw(",\"requestId\":")
        w.optionalString(requestId)
        w.raw(",\"checkedIn\":")
        w.raw(checkedIn ? "true" : "false")
        w.raw("}")
        return ByteBuffer(bytes: w.bytes)
    }

    /// `GET /calls/{id}/messages`.
    static func messages(_ list: [CallMessage]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + 200 * list.count)
        w.raw("{\"messages\":[")
        for (i, m) in list.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{")
            messageFields(m, into: &w)
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }

    /// The answer to `POST /calls/{id}/messages`.
    static func messageObject(_ m: CallMessage, recipients: Int) -> [UInt8] {
        var w = JSONWriter(capacity: 128 + m.text.utf8.count)
        w.raw("{")
        messageFields(m, into: &w)
        w.key("recipients"); w.int(recipients)
        w.raw("}")
        return w.bytes
    }

    /// `call_update`; `removed` marks the one a helper gets when the organisation removed
    /// their confirmation (§11).
    static func callUpdate(_ c: Call, removed: Bool = false) -> ByteBuffer {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"type\":\"call_update\",\"callId\":")
        w.string(c.id)
        w.raw(",\"status\":")
        w.string(c.status.rawValue)
        w.raw(",\"confirmed\":")
        w.int(c.confirmed)
        w.raw(",\"needed\":")
        w.int(c.needed)
        w.raw(removed ? ",\"removed\":true}" : "}")
        return ByteBuffer(bytes: w.bytes)
    }

    static func acceptResult(callId: String, requestId: String?, result: AcceptResult) -> ByteBuffer {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"type\":\"accept_result\",\"callId\":")
        w.string(callId)
        w.raw(",\"requestId\":")
        w.optionalString(requestId)
        w.raw(",\"result\":")
        w.string(result.rawValue)
        w.raw("}")
        return ByteBuffer(bytes: w.bytes)
    }

    static func error(code: String, message: String, requestId: String?) -> ByteBuffer {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"type\":\"error\",\"code\":")
        w.string(code)
        w.raw(",\"message\":")
        w.string(message)
        if let requestId {
            w.raw(",\"requestId\":")
            w.string(requestId)
        }
        w.raw("}")
        return ByteBuffer(bytes: w.bytes)
    }

    static func snapshot(_ calls: [Call]) -> ByteBuffer {
        var w = JSONWriter(capacity: 64 + 600 * calls.count)
        w.raw("{\"type\":\"snapshot\",\"calls\":[")
        for (i, c) in calls.enumerated() {
            if i > 0 { w.raw(",") }
            call(c, into: &w)
        }
        w.raw("]}")
        return ByteBuffer(bytes: w.bytes)
    }

    static func dashboardCall(_ c: Call) -> ByteBuffer {
        var w = JSONWriter(capacity: 600)
        w.raw("{\"type\":\"call\",\"call\":")
        call(c, into: &w)
        w.raw("}")
        return ByteBuffer(bytes: w.bytes)
    }

    static func profile(_ p: VolunteerProfile, token: String? = nil) -> [UInt8] {
        var w = JSONWriter(capacity: 256)
        w.raw("{")
        w.key("id", first: true); w.string(p.id)
        if let token {
            w.key("token"); w.string(token)
        }
        w.key("displayName"); w.string(p.displayName)
        w.key("skills"); w.stringArray(p.skills)
        w.key("maxDistanceKm"); w.number(p.maxDistanceKm)
        w.key("contact"); w.optionalString(p.contact)
        w.key("maxAlertsPerDay")
        if let max = p.fatigue.maxAlertsPerDay { w.int(max) } else { w.raw("null") }
        w.key("quietHours")
        if let q = p.fatigue.quietHours {
            w.raw("{\"from\":"); w.string(q.fromText); w.raw(",\"to\":"); w.string(q.toText); w.raw("}")
        } else {
            w.raw("null")
        }
        w.key("alertArea")
        if let a = p.alertArea {
            w.raw("{\"lat\":"); w.number(a.lat); w.raw(",\"lon\":"); w.number(a.lon); w.raw("}")
        } else {
            w.raw("null")
        }
        w.key("createdAt"); w.time(p.createdAt)
        w.raw("}")
        return w.bytes
    }

    static func export(_ e: VolunteerExport, now: Timestamp) -> [UInt8] {
        var w = JSONWriter(capacity: 1024)
        w.raw("{\"exportedAt\":")
        w.time(now)
        w.raw(",\"profile\":")
        w.raw(profile(e.profile))
        w.raw(",\"note\":")
        w.string("The current location is kept in memory only and never stored. Stored: the alert area you chose, and your availability while you have a push subscription.")
        func events(_ key: StaticString, _ list: [VolunteerExport.Event]) {
            w.key(key)
            w.raw("[")
            for (i, ev) in list.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("{\"callId\":"); w.string(ev.callId)
                w.raw(",\"callTitle\":"); w.string(ev.callTitle)
                w.raw(",\"at\":"); w.time(ev.at)
                w.raw("}")
            }
            w.raw("]")
        }
        events("alerts", e.alerts)
        events("confirmations", e.confirmations)
        events("declines", e.declines)
        events("withdrawals", e.withdrawals)
        events("removals", e.removals)
        events("checkIns", e.checkIns)
        events("checkOuts", e.checkOuts)
        events("standby", e.standby)
        events("funnel", e.funnel)
        events("heldBack", e.heldBack)
        w.key("pushSubscriptions")
        w.raw("[")
        for (i, sub) in e.pushSubscriptions.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"endpoint\":"); w.string(sub.endpoint)
            w.raw(",\"createdAt\":"); w.time(sub.createdAt)
            w.raw("}")
        }
        w.raw("]")
        w.raw("}")
        return w.bytes
    }

    static func confirmations(_ list: [Confirmation]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + 160 * list.count)
        w.raw("{\"confirmations\":[")
        for (i, c) in list.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"volunteerId\":"); w.string(c.volunteerId)
            w.raw(",\"displayName\":"); w.optionalString(c.displayName)
            w.raw(",\"contact\":"); w.optionalString(c.contact)
            w.raw(",\"confirmedAt\":"); w.time(c.confirmedAt)
            w.raw(",\"party\":"); w.int(c.party)
            w.raw(",\"checkedIn\":"); w.bool(c.checkedIn)
            w.raw(",\"noShows\":"); w.int(c.noShows)
            w.raw("}")
        }
        w.raw("]}")
        return w.bytes
    }

    /// `GET /blocks` (§11).
    static func blocks(_ list: [Block]) -> [UInt8] {
        var w = JSONWriter(capacity: 64 + 120 * list.count)
        w.raw("{\"blocks\":[")
        for (i, b) in list.enumerated() {
            if i > 0 { w.raw(",") }
            block(b, into: &w)
        }
        w.raw("]}")
        return w.bytes
    }

    /// One block: `{"volunteerId","displayName","blockedAt"}`.
    static func block(_ b: Block, into w: inout JSONWriter) {
        w.raw("{\"volunteerId\":"); w.string(b.volunteerId)
        w.raw(",\"displayName\":"); w.optionalString(b.displayName)
        w.raw(",\"blockedAt\":"); w.time(b.blockedAt)
        w.raw("}")
    }
}
