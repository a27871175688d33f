import HelferrufCore

/// The alert times of the last 24 hours of volunteers without live fatigue state (no socket,
/// not push-reachable), so that their daily limit counts on from where it was when they come
/// back.
///
/// The hub is the only writer of alerts, so it knows every alert time without asking the
/// database: read once at start (``Store/recentAlertTimes(since:)``), then kept here. That
/// spares each new connection a lookup and the alerts table a per-volunteer index, whose
/// random inserts were one dirty page per recipient of a fan-out (docs/BENCHMARKS.md).
struct AlertHistory {
    private var windows: [String: AlertWindow] = [:]
    private var lastPrune = Timestamp(millis: 0)
    /// How often windows that ran empty are dropped.
    static let pruneIntervalMillis: Int64 = 10 * 60 * 1000

    init(_ times: [String: [Timestamp]] = [:]) {
        windows = times.mapValues { AlertWindow(times: $0) }
    }

    /// Hands a volunteer's window over to their live fatigue state.
    mutating func take(_ vid: String) -> AlertWindow {
        windows.removeValue(forKey: vid) ?? AlertWindow()
    }

    /// Takes a window back when the volunteer's live state ends.
    mutating func keep(_ vid: String, _ window: AlertWindow) {
        windows[vid] = window
    }

    mutating func forget(_ vid: String) {
        windows[vid] = nil
    }

    /// Drops the windows with no alert left in the last 24 hours, at most every
    /// ``pruneIntervalMillis``.
    mutating func prune(now: Timestamp) {
        guard now.millis - lastPrune.millis >= Self.pruneIntervalMillis else { return }
        lastPrune = now
        windows = windows.compactMapValues { w in
            var w = w
            return w.count(now: now) > 0 ? w : nil
        }
    }
}

extension Hub {
    /// Starts the live fatigue state of a volunteer who gets a socket or becomes
    /// push-reachable, counting on from their remembered alert times.
    static func openFatigue(_ profile: VolunteerProfile, dropped: Set<String>, _ s: inout State) {
        guard s.fatigue[profile.id] == nil else { return }
        s.fatigue[profile.id] = VolunteerFatigue(limits: profile.fatigue, window: s.alertHistory.take(profile.id), dropped: dropped)
    }

    /// Ends the live fatigue state of a volunteer with neither socket nor push; their alert
    /// times stay in the history.
    static func closeFatigue(_ vid: String, _ s: inout State) {
        if let f = s.fatigue.removeValue(forKey: vid) { s.alertHistory.keep(vid, f.window) }
        s.quietUntil[vid] = nil
    }
}
