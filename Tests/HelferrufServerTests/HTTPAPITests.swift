import Foundation
import HTTPTypes
import HelferrufCore
import Testing

@Suite(.serialized) struct HTTPAPITests {
    @Test func volunteerLifecycle() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let created = try await s.http(.post, "/api/v1/volunteers", json: ["displayName": "  Anna  ", "skills": ["sandbags", "sandbags", "first-aid"], "contact": "0171 123"])
        #expect(created.status == 201)
        #expect(created.json["displayName"] as? String == "Anna")
        #expect(created.json["skills"] as? [String] == ["sandbags", "first-aid"])
        #expect(created.json["maxDistanceKm"] as? Double == 10)
        let token = try #require(created.json["token"] as? String)
        let me = try await s.http(.get, "/api/v1/volunteers/me", token: token)
        #expect(me.status == 200 && me.json["token"] == nil && me.json["contact"] as? String == "0171 123")
        let patched = try await s.http(.patch, "/api/v1/volunteers/me", token: token, json: ["maxDistanceKm": 25, "contact": NSNull()])
        #expect(patched.status == 200 && patched.json["maxDistanceKm"] as? Double == 25 && patched.json["contact"] is NSNull)
        let export = try await s.http(.get, "/api/v1/volunteers/me/export", token: token)
        #expect(export.status == 200 && (export.json["profile"] as? JSON)?["displayName"] as? String == "Anna")
        #expect(try await s.http(.delete, "/api/v1/volunteers/me", token: token).status == 204)
        #expect(try await s.http(.get, "/api/v1/volunteers/me", token: token).status == 401)
    }

    @Test func callLifecycleAndOwnership() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let call = try await s.call(needed: 2)
        let id = try #require(call["id"] as? String)
        #expect(call["status"] as? String == "open")
        #expect(call["orgName"] as? String == "Demo")
        #expect(call["endedAt"] is NSNull)
        for key in ["id", "orgId", "orgName", "title", "description", "address", "location", "radiusKm", "needed", "skills", "startsAt", "endsAt", "createdAt", "status", "confirmed", "alerted", "declined", "endedAt"] {
            #expect(call[key] != nil, "call object lacks \(key)")
        }
        #expect((call["createdAt"] as? String)?.hasSuffix("Z") == true)
        #expect(try await s.http(.get, "/api/v1/calls/\(id)", token: s.demoToken).json["id"] as? String == id)
        let open = try await s.http(.get, "/api/v1/calls?status=open", token: s.demoToken)
        #expect((open.json["calls"] as? [JSON])?.count == 1)
        #expect(try await s.http(.get, "/api/v1/calls?status=nope", token: s.demoToken).json["error"] as? JSON != nil)
        #expect(try await s.http(.get, "/api/v1/calls?status=nope", token: s.demoToken).status == 422)

        // Another organisation: 404 on every call route; its own list is empty.
        let other = try await s.http(.get, "/api/v1/calls", token: try await otherOrgToken(s))
        #expect((other.json["calls"] as? [JSON])?.isEmpty == true)
        let otherToken = try await otherOrgToken(s)
        for (method, path) in [("GET", ""), ("POST", "/cancel"), ("GET", "/confirmations")] {
            let r = try await s.http(.init(method)!, "/api/v1/calls/\(id)\(path)", token: otherToken)
            #expect(r.status == 404, "\(method) \(path)")
        }
        // A volunteer token is the wrong kind for organisation routes, and vice versa.
        let v = try await s.volunteer()
        #expect(try await s.http(.get, "/api/v1/calls/\(id)", token: v.token).status == 403)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/accept", token: s.demoToken).status == 403)
        #expect(try await s.http(.get, "/api/v1/calls", token: "hro_guess").status == 401)
        #expect(try await s.http(.get, "/api/v1/calls").status == 401)

        // Over HTTP a volunteer who was never alerted is not eligible.
        let accept = try await s.http(.post, "/api/v1/calls/\(id)/accept", token: v.token)
        #expect(accept.status == 200 && accept.json["result"] as? String == "not_eligible")
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/withdraw", token: v.token).json["result"] as? String == "withdrawn")
        #expect(try await s.http(.post, "/api/v1/calls/unknown/accept", token: v.token).status == 404)

        let cancelled = try await s.http(.post, "/api/v1/calls/\(id)/cancel", token: s.demoToken)
        #expect(cancelled.status == 200 && cancelled.json["status"] as? String == "cancelled" && cancelled.json["endedAt"] is String)
        #expect(try await s.http(.post, "/api/v1/calls/\(id)/withdraw", token: v.token).json["result"] as? String == "closed")
        let confirmations = try await s.http(.get, "/api/v1/calls/\(id)/confirmations", token: s.demoToken)
        #expect((confirmations.json["confirmations"] as? [JSON])?.isEmpty == true)
    }

    private func otherOrgToken(_ s: LiveServer) async throws -> String {
        try s.store.createOrganisation(name: "Other", now: .now).token
    }

    @Test func fieldRulesGive422WithTheField() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let end = RFC3339.format(Timestamp.now.adding(seconds: 3600))
        let good: JSON = ["title": "T", "location": ["lat": 50.0, "lon": 6.0], "radiusKm": 5, "needed": 3, "endsAt": end]
        let cases: [(JSON, String)] = [
            (good.merging(["title": ""]) { $1 }, "title"),
            (good.merging(["title": 5]) { $1 }, "title"),
            (good.merging(["description": String(repeating: "d", count: 2001)]) { $1 }, "description"),
            (good.merging(["address": String(repeating: "a", count: 201)]) { $1 }, "address"),
            (good.merging(["location": ["lat": 91, "lon": 0]]) { $1 }, "location.lat"),
            (good.merging(["location": ["lat": 50, "lon": "6"]]) { $1 }, "location.lon"),
            (good.merging(["location": ["lat": 50]]) { $1 }, "location.lon"),
            (good.merging(["radiusKm": 0]) { $1 }, "radiusKm"),
            (good.merging(["needed": 0]) { $1 }, "needed"),
            (good.merging(["needed": 2.5]) { $1 }, "needed"),
            (good.merging(["needed": 10001]) { $1 }, "needed"),
            (good.merging(["skills": ["Not A Slug"]]) { $1 }, "skills.0"),
            (good.merging(["startsAt": "yesterday"]) { $1 }, "startsAt"),
            (good.merging(["endsAt": "2020-01-01T00:00:00Z"]) { $1 }, "endsAt"),
            (good.filter { $0.key != "endsAt" }, "endsAt"),
        ]
        for (body, field) in cases {
            let r = try await s.http(.post, "/api/v1/calls", token: s.demoToken, json: body)
            let error = r.json["error"] as? JSON
            #expect(r.status == 422 && error?["code"] as? String == "validation_failed" && error?["field"] as? String == field, "\(field): \(r)")
        }
        let huge = try await s.http(.post, "/api/v1/calls", token: s.demoToken, body: #"{"title":"T","location":{"lat":50,"lon":6},"radiusKm":1e400,"needed":1,"endsAt":"\#(end)"}"#)
        // A number beyond Double's range is not valid JSON for us: 400, not a crash.
        #expect(huge.status == 400 && (huge.json["error"] as? JSON)?["code"] as? String == "bad_json", "\(huge)")
        let volunteerCases: [(JSON, String)] = [
            (["displayName": " ", "skills": []], "displayName"),
            (["displayName": String(repeating: "n", count: 61), "skills": []], "displayName"),
            (["displayName": "A"], "skills"),
            (["displayName": "A", "skills": Array(repeating: "x", count: 21)], "skills"),
            (["displayName": "A", "skills": ["ok", "-bad"]], "skills.1"),
            (["displayName": "A", "skills": [], "maxDistanceKm": 0.05], "maxDistanceKm"),
            (["displayName": "A", "skills": [], "maxDistanceKm": 201], "maxDistanceKm"),
            (["displayName": "A", "skills": [], "contact": String(repeating: "c", count: 201)], "contact"),
        ]
        for (body, field) in volunteerCases {
            let r = try await s.http(.post, "/api/v1/volunteers", json: body)
            #expect(r.status == 422 && (r.json["error"] as? JSON)?["field"] as? String == field, "\(field): \(r)")
        }
        let reach = try await s.http(.get, "/api/v1/reach?lat=91&lon=0&radiusKm=5", token: s.demoToken)
        #expect(reach.status == 422 && (reach.json["error"] as? JSON)?["field"] as? String == "lat")
        let reach2 = try await s.http(.get, "/api/v1/reach?lat=50&lon=6&radiusKm=NaN", token: s.demoToken)
        #expect(reach2.status == 422 && (reach2.json["error"] as? JSON)?["field"] as? String == "radiusKm")
    }

    @Test func malformedOversizedAndUnknownRequests() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        for body in ["", "{", "[1,2]", "\"text\"", "null", "{\"displayName\":\"A\""] {
            let r = try await s.http(.post, "/api/v1/volunteers", body: body)
            #expect(r.status == 400 && (r.json["error"] as? JSON)?["code"] as? String == "bad_json", "body \(body)")
        }
        let big = "{\"displayName\":\"" + String(repeating: "a", count: 70_000) + "\",\"skills\":[]}"
        let tooLarge = try await s.http(.post, "/api/v1/volunteers", body: big)
        #expect(tooLarge.status == 413 && (tooLarge.json["error"] as? JSON)?["code"] as? String == "too_large")
        #expect(try await s.http(.put, "/api/v1/volunteers").status == 405)
        #expect(try await s.http(.delete, "/api/v1/calls/abc", token: s.demoToken).status == 405)
        let missing = try await s.http(.get, "/api/v1/nothing-here")
        #expect(missing.status == 404 && (missing.json["error"] as? JSON)?["code"] as? String == "not_found")
        #expect(try await s.http(.get, "/healthz").json["status"] as? String == "ok")
        #expect(try await s.http(.get, "/readyz").status == 200)
    }

    @Test func hardeningHeadersOnEveryResponse() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        for path in ["/healthz", "/api/v1/calls", "/api/v1/nothing"] {
            let r = try await s.httpText(.get, path)
            let csp = r.headers[.contentSecurityPolicy] ?? ""
            #expect(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "\(path)")
            #expect(r.headers[.xContentTypeOptions] == "nosniff" && r.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
        }
    }

    @Test func foreignAndNullOriginsAreRefused() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        for path in ["/ws/volunteer", "/ws/dashboard"] {
            for origin in ["https://evil.example", "null"] {
                let w = try await WSProbe.connect(port: s.port, path: path, origin: origin)
                #expect(try await w.closeCode() == 1008, "\(path) \(origin)")
            }
            // The client sends its own origin, http://127.0.0.1:PORT, as a browser on the page would.
            let own = try await WSProbe.connect(port: s.port, path: path)
            own.send(["type": "hello", "token": s.demoToken])
            if path == "/ws/dashboard" { #expect(try await own.receive()["type"] as? String == "snapshot") }
            own.close()
        }
        // The HTTP API refuses foreign browser origins too.
        #expect(try await s.httpText(.get, "/api/v1/calls", token: s.demoToken, headers: [.origin: "https://evil.example"]).status == 403)
        #expect(try await s.httpText(.get, "/api/v1/calls", token: s.demoToken, headers: [.origin: "http://127.0.0.1:\(s.port)"]).status == 200)
    }

    @Test func configuredOriginsGetCORS() async throws {
        let s = try await LiveServer.start { $0.allowedOrigins = ["https://helfer.example"] }
        defer { Task { try? await s.stop() } }
        let pre = try await s.httpText(.options, "/api/v1/calls", headers: [.origin: "https://helfer.example"])
        #expect(pre.status == 204 && pre.headers[.accessControlAllowOrigin] == "https://helfer.example")
        let get = try await s.httpText(.get, "/api/v1/calls", token: s.demoToken, headers: [.origin: "https://helfer.example"])
        #expect(get.status == 200 && get.headers[.accessControlAllowOrigin] == "https://helfer.example")
    }

    @Test func reachCountsConnectedAndAvailable() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let a = try await s.volunteer("A", skills: ["boat"])
        let b = try await s.volunteer("B")
        let (wa, _) = try await s.availableVolunteer(token: a.token)
        let wb = try await s.ws()
        wb.send(["type": "hello", "token": b.token])
        _ = try await wb.receive()
        wb.send(["type": "location", "lat": 50.776, "lon": 6.084])
        try await Task.sleep(for: .milliseconds(200))
        let r = try await s.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5", token: s.demoToken)
        #expect(r.json["available"] as? Int == 1 && r.json["connected"] as? Int == 2)
        let withSkill = try await s.http(.get, "/api/v1/reach?lat=50.7753&lon=6.0839&radiusKm=5&skills=boat,first-aid", token: s.demoToken)
        #expect(withSkill.json["available"] as? Int == 0)
        wa.close()
        wb.close()
    }

    @Test func metricsMoveWhenAlertsAreSent() async throws {
        let s = try await LiveServer.start()
        defer { Task { try? await s.stop() } }
        let v = try await s.volunteer()
        let (ws, _) = try await s.availableVolunteer(token: v.token)
        try await Task.sleep(for: .milliseconds(100))
        _ = try await s.call()
        _ = try await ws.receive(type: "alert")
        let text = try await metricsText(s)
        #expect(text.contains("helferruf_alerts_sent_total 1"))
        #expect(text.contains("helferruf_sockets_open{kind=\"volunteer\"} 1"))
        #expect(text.contains("helferruf_calls{status=\"open\"} 1"))
        #expect(text.contains("helferruf_ledger_batches_total "))
        // The POST-to-last-write latency of that one fan-out, and the commits behind it.
        #expect(sample(text, "helferruf_fanout_latency_seconds_count") == 1)
        #expect((sample(text, "helferruf_commit_seconds_count") ?? 0) >= 1)
        #expect((sample(text, "helferruf_commit_batch_size_count") ?? 0) >= 1)
        #expect(sample(text, "helferruf_ledger_queue_depth") != nil && sample(text, "helferruf_outbox_frames") != nil)
        #expect(text.contains("helferruf_slow_client_closes_total{reason=\"queue_full\"} 0"))
        // Every sample line parses as Prometheus text: name{labels} value.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.isEmpty {
            let parts = line.split(separator: " ")
            #expect(parts.count == 2 && Double(parts[1]) != nil, "bad sample line: \(line)")
        }
        ws.close()
    }

    /// The value of the sample line that starts with `name` (labels included).
    private func sample(_ text: String, _ name: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { Double($0.split(separator: " ")[1]) }
    }

    private func metricsText(_ s: LiveServer) async throws -> String {
        try await s.httpText(.get, "/metrics").text
    }
}
