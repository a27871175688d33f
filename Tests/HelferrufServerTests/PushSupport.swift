import Foundation
import HelferrufCore
import HelferrufServer
import Synchronization
import Testing

/// A push gateway that keeps every job and answers each with a chosen outcome (or none).
final class RecordingGateway: PushGateway {
    private let state = Mutex<(jobs: [PushJob], arrivals: [ContinuousClock.Instant], answer: PushJobOutcome?)>(([], [], nil))

    init(answer: PushJobOutcome? = .delivered) {
        state.withLock { $0.answer = answer }
    }

    func answer(_ outcome: PushJobOutcome?) { state.withLock { $0.answer = outcome } }

    func submit(_ job: PushJob) -> Bool {
        let answer = state.withLock { s in
            s.jobs.append(job)
            s.arrivals.append(.now)
            return s.answer
        }
        if let answer { job.completion(answer) }
        return true
    }

    var jobs: [PushJob] { state.withLock { $0.jobs } }

    /// When each job was submitted, in the order of ``jobs``.
    var arrivals: [ContinuousClock.Instant] { state.withLock { $0.arrivals } }

    /// Waits until at least `count` jobs arrived (matching `filter`), and returns them.
    func wait(for count: Int, timeout: Duration = .seconds(5), where filter: (PushJob) -> Bool = { _ in true }) async throws -> [PushJob] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let found = jobs.filter(filter)
            if found.count >= count { return found }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("\(jobs.filter(filter).count) of \(count) push jobs within \(timeout)")
    }
}

extension PushJob {
    var json: JSON { (try? JSONSerialization.jsonObject(with: Data(plaintext))) as? JSON ?? [:] }
    var type: String? { json["type"] as? String }
}

enum PushFixture {
    /// RFC 8291 Appendix A's user agent key and secret: a real point on P-256.
    static let p256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
    static let auth = "BTBZMqHH6r4Tts7J_aSIgg"
    static let area = (lat: 50.776, lon: 6.084)

    static func endpoint(_ n: Int = 1) -> String { "https://fcm.googleapis.com/fcm/send/device-\(n)" }

    static func subscription(_ endpoint: String = endpoint(), p256dh: String = p256dh, auth: String = auth) -> JSON {
        ["endpoint": endpoint, "expirationTime": NSNull(), "keys": ["p256dh": p256dh, "auth": auth]]
    }
}

extension LiveServer {
    /// A server whose pushes go to `gateway`.
    static func start(
        gateway: RecordingGateway, dbPath: String? = nil, demoToken: String? = nil, fallbackSeconds: Double = 10, clock: TestClock? = nil
    ) async throws -> LiveServer {
        try await start(dbPath: dbPath, demoToken: demoToken, clock: clock) { config in
            config.push.makeGateway = { _ in gateway }
            config.push.fallbackSeconds = fallbackSeconds
        }
    }

    /// Registers a volunteer with one subscription, an alert area near Aachen and standing
    /// availability: push-reachable.
    func pushVolunteer(_ name: String = "Paula", endpoint: String = PushFixture.endpoint(), maxAlertsPerDay: Int? = nil) async throws -> (id: String, token: String) {
        let v = try await volunteer(name)
        try #require(try await http(.post, "/api/v1/volunteers/me/push", token: v.token, json: PushFixture.subscription(endpoint)).status == 201)
        var patch: JSON = ["alertArea": ["lat": PushFixture.area.lat, "lon": PushFixture.area.lon]]
        if let maxAlertsPerDay { patch["maxAlertsPerDay"] = maxAlertsPerDay }
        try #require(try await http(.patch, "/api/v1/volunteers/me", token: v.token, json: patch).status == 200)
        try #require(try await http(.put, "/api/v1/volunteers/me/availability", token: v.token, json: ["status": "available"]).status == 200)
        return v
    }

    func callObject(_ id: String) async throws -> JSON {
        try await http(.get, "/api/v1/calls/\(id)", token: demoToken).json
    }
}
