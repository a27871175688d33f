import HelferrufCore
import struct HelferrufPush.PushSubscriptionKeys
import HelferrufStore
import Hummingbird

/// `POST /volunteers/me/push`: the browser's `PushSubscription.toJSON()`. `expirationTime`
/// is ignored, as every unknown field.
struct SubscriptionInput: Decodable {
    var endpoint: String
    var keys: Keys

    struct Keys: Decodable {
        var p256dh: String
        var auth: String
    }

    /// Checks the endpoint against the allowed push services and the keys (the push
    /// client's rule): `p256dh` a 65-byte uncompressed point on P-256, `auth` 16 bytes,
    /// both base64url.
    func validated(policy: PushEndpointPolicy, now: Timestamp) throws(ValidationError) -> PushSubscription {
        guard policy.allows(endpoint) else {
            throw ValidationError(field: "endpoint", message: "must be an absolute URL of at most 2048 characters on an allowed push service")
        }
        let checked: PushSubscriptionKeys
        do {
            checked = try PushSubscriptionKeys(p256dh: keys.p256dh, auth: keys.auth)
        } catch {
            switch error.field {
            case .p256dh: throw ValidationError(field: "keys.p256dh", message: "must be base64url of a 65-byte uncompressed P-256 point")
            case .auth: throw ValidationError(field: "keys.auth", message: "must be base64url of 16 bytes")
            }
        }
        return PushSubscription(endpoint: endpoint, p256dh: [UInt8](checked.publicKeyX963), auth: [UInt8](checked.authSecret), createdAt: now)
    }
}

/// `DELETE /volunteers/me/push`.
struct EndpointInput: Decodable {
    var endpoint: String
}

/// `PUT /volunteers/me/availability`: the socket's `availability` message over HTTP.
struct AvailabilityInput: Decodable {
    var status: String
    var until: String?

    func validated() throws(ValidationError) -> Availability {
        let available: Bool
        switch status {
        case "available": available = true
        case "unavailable": available = false
        default: throw ValidationError(field: "status", message: "must be \"available\" or \"unavailable\"")
        }
        var end: Timestamp?
        if let until {
            guard let t = RFC3339.parse(until) else { throw ValidationError(field: "until", message: "must be an RFC 3339 time") }
            end = t
        }
        return available ? .available(until: end) : .unavailable
    }
}

/// `POST /calls/{id}/receipts`.
struct ReceiptInput: Decodable {
    var stage: String

    func validated() throws(ValidationError) -> FunnelStage {
        switch stage {
        case "received": return .received
        case "seen": return .seen
        default: throw ValidationError(field: "stage", message: "must be \"received\" or \"seen\"")
        }
    }
}

/// The HTTP side of Web Push (PROTOCOL.md §8).
extension API {
    static let pushPaths: [(path: String, methods: String)] = [
        ("/api/v1/push/key", "GET"), ("/api/v1/volunteers/me/push", "POST, DELETE"),
        ("/api/v1/volunteers/me/availability", "PUT"), ("/api/v1/calls/{id}/receipts", "POST"),
    ]

    func registerPush(on v1: RouterGroup<AppRequestContext>) {
        v1.get("push/key") { _, _ in
            var w = JSONWriter()
            w.raw("{\"publicKey\":"); w.string(push.publicKey); w.raw("}")
            return json(w.bytes)
        }
        v1.post("volunteers/me/push") { req, _ in try await subscribe(req) }
        v1.delete("volunteers/me/push") { req, _ in try await unsubscribe(req) }
        v1.put("volunteers/me/availability") { req, _ in try await putAvailability(req) }
        v1.post("calls/{id}/receipts") { req, ctx in try await receipt(req, ctx) }
    }

    func subscribe(_ req: Request) async throws -> Response {
        let v = try await volunteer(req)
        let input = try await body(SubscriptionInput.self, req)
        let sub: PushSubscription
        do throws(ValidationError) {
            sub = try input.validated(policy: push.endpoints, now: now())
        } catch {
            throw APIError.validation(error)
        }
        let result = try await storeWrite { try await store.upsertPushSubscription(volunteerId: v.id, sub) }
        guard result != .noVolunteer else { throw APIError.unauthorized }
        try await storeWrite { try await hub.syncPush(v.id) }
        var w = JSONWriter()
        w.raw("{\"endpoint\":"); w.string(sub.endpoint); w.raw("}")
        return json(w.bytes, status: result == .updated ? .ok : .created)
    }

    func unsubscribe(_ req: Request) async throws -> Response {
        let v = try await volunteer(req)
        let input = try await body(EndpointInput.self, req)
        if try await storeWrite({ try await store.deletePushSubscription(volunteerId: v.id, endpoint: input.endpoint) }) {
            try await storeWrite { try await hub.syncPush(v.id) }
        }
        return Response(status: .noContent)
    }

    func putAvailability(_ req: Request) async throws -> Response {
        let v = try await volunteer(req)
        let input = try await body(AvailabilityInput.self, req)
        let availability: Availability
        do throws(ValidationError) {
            availability = try input.validated()
        } catch {
            throw APIError.validation(error)
        }
        try await storeWrite { try await hub.changeAvailability(v.id, availability) }
        var w = JSONWriter()
        switch availability {
        case .unavailable:
            w.raw("{\"status\":\"unavailable\",\"until\":null}")
        case .available(let until):
            w.raw("{\"status\":\"available\",\"until\":"); w.optionalTime(until); w.raw("}")
        }
        return json(w.bytes)
    }

    /// A service worker's funnel report: what the socket's `received` and `seen` do.
    func receipt(_ req: Request, _ ctx: AppRequestContext) async throws -> Response {
        let v = try await volunteer(req)
        let id = try callId(ctx)
        let input = try await body(ReceiptInput.self, req)
        let stage: FunnelStage
        do throws(ValidationError) {
            stage = try input.validated()
        } catch {
            throw APIError.validation(error)
        }
        switch await hub.reportFunnel(callId: id, volunteer: v.id, stage: stage, wait: true)?.result {
        case nil, .done: return Response(status: .noContent)
        case .notFound: throw APIError.notFound
        case .unavailable: throw APIError.unavailable
        case .answer, .conflict, .invalid: throw APIError.internalError
        }
    }
}

/// What the HTTP API needs of the push settings.
struct PushAPISettings: Sendable {
    /// The VAPID public key, base64url (`GET /push/key`).
    var publicKey: String
    var endpoints: PushEndpointPolicy
}
