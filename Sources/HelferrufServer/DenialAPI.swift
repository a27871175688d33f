import HelferrufCore
import HelferrufStore
import Hummingbird

/// The body of `POST /api/v1/blocks`.
struct BlockInput: Decodable {
    var volunteerId: String

    /// Ids are opaque but short; anything else cannot name a volunteer.
    func validated() throws(ValidationError) -> String {
        guard (1...64).contains(volunteerId.utf8.count) else {
            throw ValidationError(field: "volunteerId", message: "must be a volunteer id")
        }
        return volunteerId
    }
}

/// The organiser's tools against denial of help (PROTOCOL.md §11): remove a helper from a
/// call, block and unblock a volunteer.
extension API {
    static let denialPaths: [(path: String, methods: String)] = [
        ("/api/v1/calls/{id}/confirmations/{volunteerId}/remove", "POST"),
        ("/api/v1/blocks", "GET, POST"), ("/api/v1/blocks/{volunteerId}", "DELETE"),
    ]

    func registerDenial(on v1: RouterGroup<AppRequestContext>) {
        v1.post("calls/{id}/confirmations/{volunteerId}/remove") { req, ctx in try await removeHelper(req, ctx) }
        v1.get("blocks") { req, _ in
            let org = try await organisation(req)
            return json(Wire.blocks(try await store.blocks(orgId: org.id)))
        }
        v1.post("blocks") { req, _ in try await block(req) }
        v1.delete("blocks/{volunteerId}") { req, ctx in try await unblock(req, ctx) }
    }

    func volunteerId(_ ctx: AppRequestContext) throws -> String {
        guard let id = ctx.parameters.get("volunteerId"), !id.isEmpty, id.utf8.count <= 64 else { throw APIError.notFound }
        return id
    }

    /// `POST /calls/{id}/confirmations/{volunteerId}/remove` → 200 call.
    func removeHelper(_ req: Request, _ ctx: AppRequestContext) async throws -> Response {
        let org = try await organisation(req)
        let id = try callId(ctx), vid = try volunteerId(ctx)
        try await drainBody(req)
        let outcome = await hub.ledger.submit(.remove(callId: id, orgId: org.id, volunteerId: vid))
        switch outcome.result {
        case .done:
            guard let call = outcome.call else { throw APIError.internalError }
            return json(Wire.call(hub.activeCall(call.id) ?? call))
        case .notFound: throw APIError.notFound
        case .conflict: throw APIError.conflict("the call has ended")
        case .unavailable: throw APIError.unavailable
        case .answer, .invalid: throw APIError.internalError
        }
    }

    /// `POST /blocks {"volunteerId"}` → 201 block; blocking again answers the same block.
    func block(_ req: Request) async throws -> Response {
        let org = try await organisation(req)
        let input = try await body(BlockInput.self, req)
        let vid: String
        do throws(ValidationError) {
            vid = try input.validated()
        } catch {
            throw APIError.validation(error)
        }
        guard let block = try await storeWrite({ try await store.block(orgId: org.id, volunteerId: vid, now: now()) }) else {
            throw APIError.notFound
        }
        hub.block(vid, org: org.id)
        // The other nodes' live state stops alerting the volunteer for the organisation's calls.
        await hub.cluster?.tell(blocks: [BlockChange(orgId: org.id, volunteerId: vid, blocked: true)])
        var w = JSONWriter()
        Wire.block(block, into: &w)
        return json(w.bytes, status: .created)
    }

    /// `DELETE /blocks/{volunteerId}` → 204; 404 when that volunteer was not blocked.
    func unblock(_ req: Request, _ ctx: AppRequestContext) async throws -> Response {
        let org = try await organisation(req)
        let vid = try volunteerId(ctx)
        guard try await storeWrite({ try await store.unblock(orgId: org.id, volunteerId: vid) }) else { throw APIError.notFound }
        hub.unblock(vid, org: org.id)
        await hub.cluster?.tell(blocks: [BlockChange(orgId: org.id, volunteerId: vid, blocked: false)])
        return Response(status: .noContent)
    }
}
