import HTTPTypes
import HelferrufCore
import HelferrufStore
import Hummingbird
import NIOCore

/// An error answered with the contract's shape:
/// `{"error":{"code":"…","message":"…","field":"…"}}`.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var field: String?
    var headers: HTTPFields = [:]

    static func badJSON(_ message: String = "body must be a JSON object") -> APIError {
        APIError(status: .badRequest, code: "bad_json", message: message)
    }
    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized", message: "missing or unknown token")
    static let forbidden = APIError(status: .forbidden, code: "forbidden", message: "this token may not use this endpoint")
    static let notFound = APIError(status: .notFound, code: "not_found", message: "not found")
    static let methodNotAllowed = APIError(status: .methodNotAllowed, code: "method_not_allowed", message: "method not allowed")
    static let tooLarge = APIError(status: .contentTooLarge, code: "too_large", message: "body larger than 64 KiB")
    static let unavailable = APIError(status: .serviceUnavailable, code: "unavailable", message: "storage unavailable, try again")
    static let internalError = APIError(status: .internalServerError, code: "internal", message: "internal error")

    static func conflict(_ message: String) -> APIError {
        APIError(status: .conflict, code: "conflict", message: message)
    }

    static func validation(_ e: ValidationError) -> APIError {
        APIError(status: .unprocessableContent, code: "validation_failed", message: e.message, field: e.field)
    }

    static func validation(field: String, _ message: String) -> APIError {
        APIError(status: .unprocessableContent, code: "validation_failed", message: message, field: field)
    }

    func body() -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.raw("{\"error\":{\"code\":")
        w.string(code)
        w.raw(",\"message\":")
        w.string(message)
        if let field {
            w.raw(",\"field\":")
            w.string(field)
        }
        w.raw("}}")
        return w.bytes
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body())))
    }
}

/// Turns every error that escapes a route into the contract's error shape, and the
/// router's own "no such route" into 404 or, where the path exists, 405.
struct ErrorShapeMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Paths (with `{id}` placeholders) that exist, with their methods for `Allow`.
    let knownPaths: [(pattern: [Substring], methods: String)]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge
        } catch StoreError.unavailable {
            // A networked database that cannot answer now (PostgreSQL down): any request
            // that needed it, a token lookup included, is answered 503 `unavailable`.
            throw APIError.unavailable
        } catch let error as HTTPError {
            switch error.status {
            case .notFound:
                guard let methods = allowedMethods(request.uri.path) else { throw APIError.notFound }
                var error = APIError.methodNotAllowed
                error.headers[.allow] = methods
                throw error
            case .contentTooLarge:
                throw APIError.tooLarge
            case .methodNotAllowed:
                throw APIError.methodNotAllowed
            case .badRequest:
                throw APIError.badJSON(error.body ?? "bad request")
            default:
                throw APIError(status: error.status, code: "internal", message: error.body ?? "error")
            }
        } catch {
            context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
            throw APIError.internalError
        }
    }

    /// The methods of the path, or nil when no such path exists.
    private func allowedMethods(_ path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        return knownPaths.first { known in
            known.pattern.count == parts.count && zip(known.pattern, parts).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }?.methods
    }
}
