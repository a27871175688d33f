import Foundation
import HTTPTypes
import HelferrufCore
import HelferrufStore
import Hummingbird
import NIOCore

/// The HTTP API of PROTOCOL.md §3.
struct API {
    let hub: Hub
    let accounts: Accounts
    let push: PushAPISettings
    var store: any RecordStore { hub.store }

    /// Bodies above this are refused with 413 before they are parsed.
    static let maxBodyBytes = 64 * 1024

    /// Every path that exists with its methods, for telling 405 from 404 and for the
    /// `Allow` header a 405 must carry (RFC 9110 §15.5.6).
    static let paths: [(path: String, methods: String)] = [
        ("/api/v1/volunteers", "POST"), ("/api/v1/volunteers/me", "GET, PATCH, DELETE"),
        ("/api/v1/volunteers/me/export", "GET"), ("/api/v1/calls", "GET, POST"), ("/api/v1/calls/{id}", "GET"),
        ("/api/v1/calls/{id}/cancel", "POST"), ("/api/v1/calls/{id}/confirmations", "GET"),
        ("/api/v1/calls/{id}/accept", "POST"), ("/api/v1/calls/{id}/withdraw", "POST"), ("/api/v1/calls/{id}/messages", "GET, POST"), ("/api/v1/reach", "GET"),
        ("/healthz", "GET"), ("/readyz", "GET"), ("/metrics", "GET"),
    ] + sessionPaths.map { ($0, $0.hasSuffix("ticket") ? "POST" : "GET, POST, DELETE") } + pushPaths + denialPaths

    func register(on router: Router<AppRequestContext>) {
        let v1 = router.group("api/v1")
        registerSessions(on: v1)
        registerPush(on: v1)
        registerDenial(on: v1)
        v1.post("volunteers") { req, ctx in try await createVolunteer(req) }
        v1.get("volunteers/me") { req, _ in try await json(Wire.profile(volunteer(req))) }
        v1.patch("volunteers/me") { req, _ in try await patchVolunteer(req) }
        v1.delete("volunteers/me") { req, _ in try await deleteVolunteer(req) }
        v1.get("volunteers/me/export") { req, _ in try await exportVolunteer(req) }
        v1.post("calls") { req, _ in try await createCall(req) }
        v1.get("calls") { req, _ in try await listCalls(req) }
        v1.get("calls/{id}") { req, ctx in try await json(Wire.call(ownCall(req, ctx))) }
        v1.post("calls/{id}/cancel") { req, ctx in try await cancel(req, ctx) }
        v1.get("calls/{id}/confirmations") { req, ctx in
            let call = try await ownCall(req, ctx)
            let since = now().adding(millis: -Int64(Store.noShowDays) * 86_400_000)
            return json(Wire.confirmations(try await store.confirmations(callId: call.id, noShowsSince: since)))
        }
        v1.post("calls/{id}/messages") { req, ctx in try await postMessage(req, ctx) }
        v1.get("calls/{id}/messages") { req, ctx in
            let call = try await ownCall(req, ctx)
            return json(Wire.messages(try await store.messages(callId: call.id)))
        }
        v1.post("calls/{id}/accept") { req, ctx in try await roster(req, ctx, accept: true) }
        v1.post("calls/{id}/withdraw") { req, ctx in try await roster(req, ctx, accept: false) }
        v1.get("reach") { req, _ in try await reach(req) }
        router.get("healthz") { _, _ in json(Array(#"{"status":"ok"}"#.utf8)) }
        router.get("readyz") { _, _ in try await ready() }
        router.get("metrics") { _, _ in
            hub.refreshTelemetry()
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: hub.telemetry.render())))
        }
    }

    // MARK: Helpers

    func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    func body<T: Decodable>(_ type: T.Type, _ req: Request) async throws -> T {
        let buffer = try await req.body.collect(upTo: Self.maxBodyBytes)
        switch JSONInput.decode(T.self, from: buffer.readableBytesView) {
        case .success(let value): return value
        case .failure(.badJSON(let why)): throw APIError.badJSON(why)
        case .failure(.invalid(let e)): throw APIError.validation(e)
        }
    }

    /// Reads and discards a body (for POSTs that take none), still enforcing the size limit.
    func drainBody(_ req: Request) async throws {
        _ = try await req.body.collect(upTo: Self.maxBodyBytes)
    }

    enum Principal {
        case organisation(Organisation)
        case volunteer(VolunteerProfile)
    }

    /// Who sent the request: the bearer token decides; without one, the console's session
    /// cookie stands for its organisation (state changes then need the CSRF header).
    func principal(_ req: Request) async throws -> Principal {
        guard let header = req.headers[.authorization] else {
            guard let found = try await accounts.session(req) else { throw APIError.unauthorized }
            return .organisation(found.session.organisation)
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { throw APIError.unauthorized }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= 256 else { throw APIError.unauthorized }
        if token.hasPrefix(Tokens.Kind.organisation.rawValue), let org = try await store.organisation(token: token) {
            return .organisation(org)
        }
        if token.hasPrefix(Tokens.Kind.volunteer.rawValue), let v = try await store.volunteer(token: token) {
            return .volunteer(v)
        }
        throw APIError.unauthorized
    }

    func organisation(_ req: Request) async throws -> Organisation {
        guard case .organisation(let org) = try await principal(req) else { throw APIError.forbidden }
        return org
    }

    func volunteer(_ req: Request) async throws -> VolunteerProfile {
        guard case .volunteer(let v) = try await principal(req) else { throw APIError.forbidden }
        return v
    }

    func callId(_ ctx: AppRequestContext) throws -> String {
        guard let id = ctx.parameters.get("id"), !id.isEmpty, id.utf8.count <= 64 else { throw APIError.notFound }
        return id
    }

    /// The organisation's own call; another organisation's call is reported as not found.
    func ownCall(_ req: Request, _ ctx: AppRequestContext) async throws -> Call {
        let org = try await organisation(req)
        let id = try callId(ctx)
        guard let call = try await liveCall(id), call.orgId == org.id else { throw APIError.notFound }
        return call
    }

    func liveCall(_ id: String) async throws -> Call? {
        if let active = hub.activeCall(id) { return active }
        return try await store.call(id: id)
    }

    func now() -> Timestamp { hub.clock() }

    // MARK: Volunteers

    func createVolunteer(_ req: Request) async throws -> Response {
        let input = try await body(VolunteerCreateInput.self, req)
        let name: String, skills: [String], distance: Double, contact: String?
        var fatigue = FatigueLimits()
        do throws(ValidationError) {
            name = try Rules.displayName(input.displayName)
            skills = try Rules.skills(input.skills)
            distance = try Rules.maxDistance(input.maxDistanceKm ?? Rules.defaultMaxDistanceKm)
            contact = try input.contact.map(Rules.contact)
            try input.fatigue.apply(to: &fatigue)
        } catch {
            throw APIError.validation(error)
        }
        let limits = fatigue
        let (profile, token) = try await storeWrite {
            try await store.createVolunteer(displayName: name, skills: skills, maxDistanceKm: distance, contact: contact, fatigue: limits, now: now())
        }
        hub.telemetry.registrations.increment()
        return json(Wire.profile(profile, token: token), status: .created)
    }

    func patchVolunteer(_ req: Request) async throws -> Response {
        var profile = try await volunteer(req)
        let input = try await body(VolunteerPatchInput.self, req)
        do throws(ValidationError) {
            if let name = input.displayName { profile.displayName = try Rules.displayName(name) }
            if let skills = input.skills { profile.skills = try Rules.skills(skills) }
            if let d = input.maxDistanceKm { profile.maxDistanceKm = try Rules.maxDistance(d) }
            if let contact = input.contact { profile.contact = try contact.map(Rules.contact) }
            try input.fatigue.apply(to: &profile.fatigue)
            if let area = input.alertArea {
                profile.alertArea = try area.map { a throws(ValidationError) in try Rules.alertArea(lat: a.lat, lon: a.lon) }
            }
        } catch {
            throw APIError.validation(error)
        }
        let p = profile
        guard try await storeWrite({ try await store.updateVolunteer(p) }) else { throw APIError.unauthorized }
        // The alert area first, so that the profile's new reach is matched at the new place.
        try await storeWrite { try await hub.syncPush(p.id) }
        hub.updateProfile(profile)
        return json(Wire.profile(profile))
    }

    func deleteVolunteer(_ req: Request) async throws -> Response {
        let profile = try await volunteer(req)
        try await storeWrite { try await store.deleteVolunteer(id: profile.id) }
        hub.closeVolunteer(profile.id, code: 4401, reason: "account erased")
        return Response(status: .noContent)
    }

    func exportVolunteer(_ req: Request) async throws -> Response {
        let profile = try await volunteer(req)
        guard let export = try await store.export(volunteerId: profile.id) else { throw APIError.unauthorized }
        var response = json(Wire.export(export, now: now()))
        response.headers[.contentDisposition] = "attachment; filename=\"helferruf-export.json\""
        return response
    }

    // MARK: Calls

    func createCall(_ req: Request) async throws -> Response {
        let received = ContinuousClock.now
        let org = try await organisation(req)
        let input = try await body(CallCreateInput.self, req)
        let created = now()
        let valid: CallDraft.Valid
        do throws(ValidationError) {
            valid = try input.draft().validate(now: created)
        } catch {
            throw APIError.validation(error)
        }
        var call = Call(
            id: Tokens.newId(), orgId: org.id, orgName: org.name, title: valid.title, description: valid.description,
            address: valid.address, location: valid.location, radiusKm: valid.radiusKm, needed: valid.needed,
            skills: valid.skills, startsAt: valid.startsAt, endsAt: valid.endsAt, createdAt: created)
        call.dispatch = valid.dispatch
        call.standbyEnabled = valid.standby
        if valid.dispatch != .broadcast {
            call.acceptanceRate = try await storeWrite { try await store.acceptanceRate(orgId: org.id) }
        }
        if valid.dispatch.isDeadline {
            call.delayModel = try await storeWrite { try await store.delayModel(orgId: org.id) }
        }
        hub.expectCall(call.id, postedAt: received)
        let outcome = await hub.ledger.submit(.createCall(call))
        guard outcome.result == .done, let stored = outcome.call else {
            hub.forgetExpectedCall(call.id)
            throw APIError.unavailable
        }
        return json(Wire.call(hub.activeCall(stored.id) ?? stored), status: .created)
    }

    func listCalls(_ req: Request) async throws -> Response {
        let org = try await organisation(req)
        var status: CallStatus?
        if let raw = req.uri.queryParameters.get("status") {
            guard let s = CallStatus(rawValue: raw) else {
                throw APIError.validation(field: "status", "must be one of open, filled, cancelled, expired")
            }
            status = s
        }
        let calls = try await store.calls(orgId: org.id, status: status).map { hub.activeCall($0.id) ?? $0 }
        return json(Wire.calls(calls, key: "calls"))
    }

    func cancel(_ req: Request, _ ctx: AppRequestContext) async throws -> Response {
        let org = try await organisation(req)
        let id = try callId(ctx)
        try await drainBody(req)
        let outcome = await hub.ledger.submit(.cancel(callId: id, orgId: org.id))
        switch outcome.result {
        case .done:
            guard let call = outcome.call else { throw APIError.notFound }
            return json(Wire.call(call))
        case .conflict: throw APIError.conflict("the call has already expired")
        case .notFound: throw APIError.notFound
        case .unavailable: throw APIError.unavailable
        case .answer, .invalid: throw APIError.internalError
        }
    }

    /// Accept (with an optional body `{"party":N}`) or withdraw over HTTP.
    func roster(_ req: Request, _ ctx: AppRequestContext, accept: Bool) async throws -> Response {
        let v = try await volunteer(req)
        let id = try callId(ctx)
        let party = accept ? try await optionalParty(req) : 1
        if !accept { try await drainBody(req) }
        let change: RosterChange = accept
            ? .accept(callId: id, volunteerId: v.id, eligible: hub.mayAccept(volunteer: v.id, call: id), party: party)
            : .withdraw(callId: id, volunteerId: v.id)
        let outcome = await hub.ledger.submit(change)
        switch outcome.result {
        case .answer(let result):
            var w = JSONWriter()
            w.raw("{\"callId\":"); w.string(id); w.raw(",\"result\":"); w.string(result.rawValue); w.raw("}")
            return json(w.bytes)
        case .notFound: throw APIError.notFound
        case .unavailable: throw APIError.unavailable
        case .done, .conflict, .invalid: throw APIError.internalError
        }
    }

    /// The party size from an accept's body: 1 without a body; otherwise the body must be
    /// a JSON object whose optional `party` is 1–10.
    func optionalParty(_ req: Request) async throws -> Int {
        let buffer = try await req.body.collect(upTo: Self.maxBodyBytes)
        guard buffer.readableBytesView.contains(where: { ![32, 9, 10, 13].contains($0) }) else { return 1 }
        switch JSONInput.decode(AcceptInput.self, from: buffer.readableBytesView) {
        case .failure(.badJSON(let why)): throw APIError.badJSON(why)
        case .failure(.invalid(let e)): throw APIError.validation(e)
        case .success(let input):
            do throws(ValidationError) {
                return try Party.validate(input.party)
            } catch {
                throw APIError.validation(error)
            }
        }
    }

    /// `POST /calls/{id}/messages`: stores the message and sends it to the call's confirmed
    /// helpers who are connected; later connections get it after their `welcome`.
    func postMessage(_ req: Request, _ ctx: AppRequestContext) async throws -> Response {
        let org = try await organisation(req)
        let id = try callId(ctx)
        let input = try await body(MessageInput.self, req)
        let text: String
        do throws(ValidationError) {
            text = try input.validated()
        } catch {
            throw APIError.validation(error)
        }
        let outcome = await hub.ledger.submit(.postMessage(callId: id, orgId: org.id, text: text))
        switch outcome.result {
        case .done:
            guard let message = outcome.message else { throw APIError.internalError }
            return json(Wire.messageObject(message, recipients: outcome.recipients.count), status: .created)
        case .notFound: throw APIError.notFound
        case .conflict: throw APIError.conflict("messages can be sent until 24 hours after the call ends")
        case .unavailable: throw APIError.unavailable
        case .answer, .invalid: throw APIError.internalError
        }
    }

    func reach(_ req: Request) async throws -> Response {
        let org = try await organisation(req)
        let q = req.uri.queryParameters
        func number(_ name: String) throws -> Double {
            guard let raw = q.get(name) else { throw APIError.validation(field: name, "is required") }
            guard let v = Double(raw), v.isFinite else { throw APIError.validation(field: name, "must be a number") }
            return v
        }
        let lat = try number("lat"), lon = try number("lon"), radius = try number("radiusKm")
        do throws(ValidationError) {
            let center = try Rules.location(lat: lat, lon: lon, field: "")
            let r = try Rules.distance(radius, field: "radiusKm")
            let slugs = (q.get("skills") ?? "").split(separator: ",", omittingEmptySubsequences: true).map(String.init)
            let skills = try Rules.skills(slugs)
            let result = await hub.reachEverywhere(center: center, radiusKm: r, skills: skills, orgId: org.id)
            return json(Array(#"{"available":\#(result.available),"connected":\#(result.connected)}"#.utf8))
        } catch {
            throw APIError.validation(error)
        }
    }

    func ready() async throws -> Response {
        guard hub.isReady else {
            return json(Array(#"{"status":"draining"}"#.utf8), status: .serviceUnavailable)
        }
        guard await store.isReadable() else {
            return json(Array(#"{"status":"database unavailable"}"#.utf8), status: .serviceUnavailable)
        }
        return json(Array(#"{"status":"ready"}"#.utf8))
    }

    /// Runs a store write, reporting storage failures as 503.
    func storeWrite<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.unavailable
        }
    }
}
