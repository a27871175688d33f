import ArgumentParser
import Foundation
import Logging
import WSClient

/// `helferruf demo`: the Quickstart in one command. Against a running server it registers
/// a sample volunteer, puts her online near a sample place, posts a call there as the
/// organisation (starting in a few minutes, so it works on any day), accepts it on the
/// volunteer's socket and waits for the durable `confirmed`; then it says which pages to
/// open and what they show.
struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a call reaching a volunteer on a running server: register, alert, accept, confirmed.",
        discussion: """
            Registers the volunteer "Anna (Demo)", puts her online 100 m from the Wurm in Aachen, \
            posts a call there for the organisation of --token (from in 10 minutes to 2 hours later), \
            accepts it on her socket and prints the pages to open. Each run adds one volunteer and one call.
            """
    )

    @Option(help: ArgumentHelp("The running server (env HELFERRUF_URL; default http://127.0.0.1:8080, or the port in HELFERRUF_PORT).", valueName: "url"))
    var url: String?

    @Option(help: ArgumentHelp("An organisation token, as printed on the server's first start or by `org add` / `org token rotate` (env HELFERRUF_TOKEN).", valueName: "token"))
    var token: String?

    @Option(help: "Seconds to wait for each step of the server, 1 to 300.")
    var timeout: Int = 20

    /// The call's place (the Wurm in Aachen) and the volunteer's position, about 100 m away.
    static let place = (lat: 50.7753, lon: 6.0839)
    static let volunteerPosition = (lat: 50.7762, lon: 6.0840)
    static let volunteerName = "Anna (Demo)"
    static let needed = 40

    var baseURL: String {
        var text = url ?? Environment.string("HELFERRUF_URL") ?? "http://127.0.0.1:\(Environment.string("HELFERRUF_PORT") ?? "8080")"
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    var organisationToken: String? { token ?? Environment.string("HELFERRUF_TOKEN") }

    func validate() throws {
        guard let parts = URLComponents(string: baseURL), ["http", "https"].contains(parts.scheme ?? ""),
              parts.host?.isEmpty == false, parts.path.isEmpty, parts.query == nil
        else { throw ValidationError("--url must look like http://127.0.0.1:8080 (got \(baseURL))") }
        guard let token = organisationToken else {
            throw ValidationError("no organisation token: pass --token or set HELFERRUF_TOKEN (the server prints the Demo organisation's token on its first start)")
        }
        guard token.hasPrefix("hro_") else {
            throw ValidationError("--token must be an organisation token (it starts with hro_)")
        }
        guard (1...300).contains(timeout) else { throw ValidationError("--timeout must be 1 to 300") }
    }

    func run() async throws {
        let http = DemoHTTP(base: baseURL), orgToken = organisationToken!
        let step = Shared("reaching the server")
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            FileHandle.standardError.write(Data("Error: no answer within \(timeout) s while \(step.withLock { $0 })\n".utf8))
            Foundation.exit(1)
        }
        defer { watchdog.cancel() }

        let reach = try await Self.availableNearPlace(http, orgToken)
        Self.say("Server \(baseURL) is up; \(reach) volunteer\(reach == 1 ? "" : "s") available near the Wurm in Aachen before the demo.")
        step.withLock { $0 = "registering the volunteer" }
        let created = try await http.send(.POST, "/api/v1/volunteers", body: [
            "displayName": Self.volunteerName, "skills": ["sandbags"], "maxDistanceKm": 15,
        ])
        guard created.status == 201, let volunteerToken = created.json["token"] as? String else {
            throw DemoFailure("registering a volunteer failed with \(created.status): \(DemoHTTP.errorMessage(created.json))")
        }
        Self.say("1. Registered the volunteer \"\(Self.volunteerName)\" (skill sandbags, alerts up to 15 km away).")

        var logger = Logger(label: "helferruf.demo")
        logger.logLevel = .critical
        let socketURL = "ws" + baseURL.dropFirst("http".count) + "/ws/volunteer"
        let outcome = Shared<Outcome?>(nil)
        do {
            try await Self.volunteerSocket(socketURL, logger, volunteerToken, http, orgToken, reach, step, outcome)
        } catch let failure as DemoFailure {
            throw failure
        } catch {
            throw DemoFailure("the volunteer's socket at \(socketURL) failed: \(error)")
        }
        guard let (callId, result, alertMillis) = outcome.withLock({ $0 }).map({ ($0.callId, $0.result, $0.alertMillis) }) else {
            throw DemoFailure("the server closed the volunteer's socket before the demo ended")
        }
        Self.say("4. She was alerted \(alertMillis) ms after the call was posted and accepted it: accept_result \(result).")
        guard result == "confirmed" else { throw DemoFailure("the accept was answered with \(result), not confirmed") }

        step.withLock { $0 = "reading the confirmations" }
        let listed = try await http.send(.GET, "/api/v1/calls/\(callId)/confirmations", token: orgToken)
        let names = (listed.json["confirmations"] as? [JSONObject] ?? []).compactMap { $0["displayName"] as? String }
        Self.say("5. GET /api/v1/calls/{id}/confirmations lists \(names.map { "\"\($0)\"" }.joined(separator: ", ")) (\(names.count) of \(Self.needed) confirmed).")
        Self.say("""

            Now open (sign in with the organisation token under "Mit einem API-Zugangsschlüssel anmelden"):
              \(baseURL)/console     the console: the call, "\(names.count) von \(Self.needed) bestätigt"; "Helfende anzeigen" lists \(Self.volunteerName)
              \(baseURL)/dashboard   the live dashboard: the call's counter and its funnel
              \(baseURL)/            the volunteer page: register yourself, choose a place near Aachen and be available to be alerted for this call
            """)
    }

    /// The volunteer's side, on her socket: hello, position, available; then the call is
    /// posted, and she accepts its alert and waits for the `accept_result`.
    private static func volunteerSocket(
        _ socketURL: String, _ logger: Logger, _ volunteerToken: String, _ http: DemoHTTP, _ orgToken: String,
        _ reach: Int, _ step: Shared<String>, _ outcome: Shared<Outcome?>
    ) async throws {
        try await WebSocketClient.connect(url: socketURL, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
            var frames = FrameReader(inbound)
            step.withLock { $0 = "opening the volunteer's socket" }
            try await outbound.send(["type": "hello", "token": volunteerToken])
            let welcome = try await frames.next()
            guard welcome["type"] as? String == "welcome" else { throw DemoFailure("the server answered the hello with \(welcome)") }
            try await outbound.send(["type": "location", "lat": Self.volunteerPosition.lat, "lon": Self.volunteerPosition.lon])
            try await outbound.send(["type": "availability", "status": "available"])
            step.withLock { $0 = "waiting for the volunteer to count as available" }
            while try await Self.availableNearPlace(http, orgToken) <= reach {
                try await Task.sleep(for: .milliseconds(50))
            }
            Self.say("2. Opened her socket (/ws/volunteer): hello, her position, available.")

            step.withLock { $0 = "posting the call" }
            let posted = ContinuousClock.now
            let call = try await Self.postCall(http, orgToken)
            let callId = call["id"] as? String ?? ""
            Self.say("3. Posted the call \"\(call["title"] as? String ?? "")\" as \(call["orgName"] as? String ?? "the organisation"): \(Self.needed) people, 5 km, \(Self.window(call)).")

            step.withLock { $0 = "waiting for the alert" }
            _ = try await frames.next { $0["type"] as? String == "alert" && ($0["call"] as? JSONObject)?["id"] as? String == callId }
            let alertMillis = Int((ContinuousClock.now - posted) / .milliseconds(1))
            step.withLock { $0 = "waiting for the accept_result" }
            try await outbound.send(["type": "accept", "callId": callId, "requestId": "demo-accept"])
            let answer = try await frames.next {
                ["accept_result", "error"].contains($0["type"] as? String ?? "") && $0["requestId"] as? String == "demo-accept"
            }
            let result = answer["result"] as? String ?? "error: \(answer["message"] as? String ?? "?")"
            outcome.withLock { $0 = Outcome(callId: callId, result: result, alertMillis: alertMillis) }
        }
    }

    private struct Outcome: Sendable {
        var callId: String, result: String, alertMillis: Int
    }

    /// How many volunteers a call at the sample place would alert now (`GET /reach`); this
    /// also checks the organisation token before anything is created.
    private static func availableNearPlace(_ http: DemoHTTP, _ orgToken: String) async throws -> Int {
        let (status, json) = try await http.send(.GET, "/api/v1/reach?lat=\(Self.place.lat)&lon=\(Self.place.lon)&radiusKm=5&skills=sandbags", token: orgToken)
        switch status {
        case 200: return json["available"] as? Int ?? 0
        case 401: throw DemoFailure("the server does not know this organisation token; make a new one with `helferruf org token rotate --id ID` (`helferruf org list` shows the id)")
        case 403: throw DemoFailure("the server refused the token (403): it is not an organisation token")
        default: throw DemoFailure("GET /api/v1/reach answered \(status): \(DemoHTTP.errorMessage(json))")
        }
    }

    private static func postCall(_ http: DemoHTTP, _ orgToken: String) async throws -> JSONObject {
        // Starts in 10 minutes and lasts 2 hours: endsAt is in the future and within 7 days of startsAt.
        let start = Date().addingTimeInterval(10 * 60), end = start.addingTimeInterval(2 * 3600)
        let (status, call) = try await http.send(.POST, "/api/v1/calls", token: orgToken, body: [
            "title": "Sandsäcke füllen an der Wurm",
            "description": "Ein Beispiel-Einsatz von `helferruf demo`: Sandsäcke füllen und zum Ufer tragen.",
            "address": "Wurmufer, Aachen",
            "location": ["lat": Self.place.lat, "lon": Self.place.lon],
            "radiusKm": 5, "needed": Self.needed, "skills": ["sandbags"],
            "startsAt": Self.rfc3339(start), "endsAt": Self.rfc3339(end),
        ])
        guard status == 201, call["id"] is String else {
            throw DemoFailure("posting the call failed with \(status): \(DemoHTTP.errorMessage(call))")
        }
        return call
    }

    static func rfc3339(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// "from 2026-12-07T16:10:00Z to 2026-12-07T18:10:00Z", as the server wrote the call.
    static func window(_ call: JSONObject) -> String {
        "from \(call["startsAt"] as? String ?? "?") to \(call["endsAt"] as? String ?? "?")"
    }

    private static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}

