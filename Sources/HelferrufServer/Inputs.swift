import Foundation
import HelferrufCore
import NIOCore

/// Strict decoding of client JSON (docs/SECURITY.md, "Input policy"). Unknown fields are
/// ignored (one policy everywhere, so that newer clients keep working); wrong types and
/// `null` for a required field are refused with the field they concern; malformed JSON,
/// NaN and Infinity, numbers beyond a double, nesting deeper than 512 levels and bytes that
/// are not UTF-8 (anywhere, unknown fields included) are refused as `bad_json`.
enum JSONInput {
    enum Failure: Error {
        /// Not JSON, or not a JSON object.
        case badJSON(String)
        case invalid(ValidationError)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: some DataProtocol) -> Result<T, Failure> {
        let data = Data(bytes)
        // The decoder checks UTF-8 only in the strings it decodes, not in skipped fields.
        guard String(validating: data, as: UTF8.self) != nil else { return .failure(.badJSON("body is not UTF-8")) }
        guard let first = data.first(where: { !Set<UInt8>([32, 9, 10, 13]).contains($0) }), first == UInt8(ascii: "{") else {
            return .failure(.badJSON(data.isEmpty ? "empty body" : "body must be a JSON object"))
        }
        do {
            return .success(try JSONDecoder().decode(T.self, from: data))
        } catch let error as DecodingError {
            return .failure(map(error))
        } catch let error as ValidationError {
            return .failure(.invalid(error))
        } catch {
            return .failure(.badJSON("malformed JSON"))
        }
    }

    private static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func map(_ error: DecodingError) -> Failure {
        switch error {
        case .keyNotFound(let key, let ctx):
            return .invalid(ValidationError(field: path(ctx.codingPath + [key]), message: "is required"))
        case .valueNotFound(_, let ctx):
            return ctx.codingPath.isEmpty ? .badJSON("body must be a JSON object")
                : .invalid(ValidationError(field: path(ctx.codingPath), message: "must not be null"))
        case .typeMismatch(let type, let ctx):
            return ctx.codingPath.isEmpty ? .badJSON("body must be a JSON object")
                : .invalid(ValidationError(field: path(ctx.codingPath), message: "has the wrong type (expected \(typeName(type)))"))
        case .dataCorrupted(let ctx):
            return ctx.codingPath.isEmpty ? .badJSON("malformed JSON")
                : .invalid(ValidationError(field: path(ctx.codingPath), message: "is not a valid value"))
        @unknown default:
            return .badJSON("malformed JSON")
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "string"
        case is Double.Type, is Int.Type: return "number"
        case is Bool.Type: return "boolean"
        case is [String].Type, is [Any].Type: return "array"
        default: return "object"
        }
    }
}

/// Decodes a field that may be absent, `null`, or a value: `.some(nil)` means an explicit null.
extension KeyedDecodingContainer {
    func decodeNullable<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T?? {
        guard contains(key) else { return nil }
        if try decodeNil(forKey: key) { return .some(nil) }
        return .some(try decode(T.self, forKey: key))
    }
}

struct LocationInput: Decodable {
    var lat: Double
    var lon: Double
}

struct QuietHoursInput: Decodable {
    var from: String
    var to: String
}

/// The §7 fatigue fields of a profile: absent leaves them unchanged, `null` removes the limit.
struct FatigueInput {
    var maxAlertsPerDay: Double??
    var quietHours: QuietHoursInput??

    /// Applies the fields to `limits`, validating them.
    func apply(to limits: inout FatigueLimits) throws(ValidationError) {
        if let max = maxAlertsPerDay {
            if let max {
                guard let n = Rules.wholeNumber(max, in: FatigueLimits.alertsPerDayRange) else {
                    throw ValidationError(field: "maxAlertsPerDay", message: "must be a whole number from 1 to 100, or null")
                }
                limits.maxAlertsPerDay = n
            } else {
                limits.maxAlertsPerDay = nil
            }
        }
        if let quiet = quietHours {
            limits.quietHours = try quiet.map { q throws(ValidationError) in try QuietHours.parse(from: q.from, to: q.to) }
        }
    }

    enum Keys: String, CodingKey { case maxAlertsPerDay, quietHours }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: Keys.self)
        maxAlertsPerDay = try c.decodeNullable(Double.self, forKey: .maxAlertsPerDay)
        quietHours = try c.decodeNullable(QuietHoursInput.self, forKey: .quietHours)
    }
}

struct VolunteerCreateInput: Decodable {
    var displayName: String
    var skills: [String]
    var maxDistanceKm: Double?
    var contact: String?
    var fatigue: FatigueInput

    enum CodingKeys: String, CodingKey { case displayName, skills, maxDistanceKm, contact }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        displayName = try c.decode(String.self, forKey: .displayName)
        skills = try c.decode([String].self, forKey: .skills)
        maxDistanceKm = try c.decodeIfPresent(Double.self, forKey: .maxDistanceKm)
        contact = try c.decodeIfPresent(String.self, forKey: .contact)
        fatigue = try FatigueInput(from: decoder)
    }
}

struct VolunteerPatchInput: Decodable {
    var displayName: String?
    var skills: [String]?
    var maxDistanceKm: Double?
    /// nil: unchanged; .some(nil): erase.
    var contact: String??
    var fatigue: FatigueInput
    /// PROTOCOL.md §8; nil: unchanged; .some(nil): no alert area.
    var alertArea: LocationInput??

    enum CodingKeys: String, CodingKey { case displayName, skills, maxDistanceKm, contact, alertArea }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName)
        skills = try c.decodeIfPresent([String].self, forKey: .skills)
        maxDistanceKm = try c.decodeIfPresent(Double.self, forKey: .maxDistanceKm)
        contact = try c.decodeNullable(String.self, forKey: .contact)
        fatigue = try FatigueInput(from: decoder)
        alertArea = try c.decodeNullable(LocationInput.self, forKey: .alertArea)
    }
}

struct CallCreateInput: Decodable {
    var title: String
    var description: String?
    var address: String?
    var location: LocationInput
    var radiusKm: Double
    /// Read as a number and checked to be whole here: the decoder cannot name the field
    /// when a fraction is given for an integer.
    var needed: Double
    var skills: [String]?
    var startsAt: String?
    var endsAt: String
    var dispatch: DispatchInput?
    var standby: Bool?

    struct DispatchInput: Decodable {
        var mode: String?
        var maxRadiusKm: Double?
        var waveSeconds: Double?
        var fillBy: String?
        var confidence: Double?
    }

    func draft() throws(ValidationError) -> CallDraft {
        guard needed.isFinite, needed.rounded() == needed, abs(needed) < 1e9 else {
            throw ValidationError(field: "needed", message: "must be a whole number from 1 to 10000")
        }
        return CallDraft(
            title: title, description: description, address: address, lat: location.lat, lon: location.lon,
            radiusKm: radiusKm, needed: Int(needed), skills: skills, startsAt: startsAt, endsAt: endsAt,
            dispatchMode: dispatch?.mode, maxRadiusKm: dispatch?.maxRadiusKm, waveSeconds: dispatch?.waveSeconds,
            fillBy: dispatch?.fillBy, confidence: dispatch?.confidence, standby: standby)
    }
}

/// `POST /calls/{id}/messages`.
struct MessageInput: Decodable {
    var text: String

    static let length = 1...500

    func validated() throws(ValidationError) -> String {
        let trimmed = text.trimmingWhitespace()
        guard Self.length.contains(trimmed.count) else {
            throw ValidationError(field: "text", message: "must be 1 to 500 characters")
        }
        return trimmed
    }
}

/// The optional body of `POST /calls/{id}/accept`.
struct AcceptInput: Decodable {
    var party: Double?
}

enum Party {
    /// Checks a party size: a whole number from 1 to 10; absent means 1.
    static func validate(_ raw: Double?) throws(ValidationError) -> Int {
        guard let raw else { return 1 }
        guard let n = Rules.wholeNumber(raw, in: FillRules.partyRange) else {
            throw ValidationError(field: "party", message: "must be a whole number from 1 to 10")
        }
        return n
    }
}

/// Every client → server WebSocket message, decoded once its `type` is known.
enum ClientMessage {
    case hello(token: String)
    case availability(available: Bool, until: Timestamp?)
    case location(GeoPoint)
    case accept(callId: String, requestId: String?, party: Int)
    case decline(callId: String)
    case withdraw(callId: String, requestId: String?)
    case funnel(callId: String, stage: FunnelStage)
    case checkin(callId: String, requestId: String?, arrived: Bool)

    enum Failure: Error {
        case badJSON
        case unknownType(String?)
        case invalid(String, requestId: String?)
    }

    private struct Envelope: Decodable {
        var type: String?
        var requestId: String?

        enum CodingKeys: String, CodingKey { case type, requestId }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            type = try? c.decodeIfPresent(String.self, forKey: .type)
            requestId = try? c.decodeIfPresent(String.self, forKey: .requestId)
        }
    }

    /// A hello carries a `token`, or on `/ws/dashboard` a console's single-use `ticket`;
    /// both travel on as one credential, told apart by the ticket's prefix, so each must
    /// come in its own field.
    private struct Hello: Decodable {
        var token: String

        enum CodingKeys: String, CodingKey { case token, ticket }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let ticketPrefix = TokenKind.ticket.rawValue
            if let ticket = try c.decodeIfPresent(String.self, forKey: .ticket) {
                guard ticket.hasPrefix(ticketPrefix) else {
                    throw DecodingError.dataCorruptedError(forKey: .ticket, in: c, debugDescription: "not a ticket")
                }
                token = ticket
            } else {
                token = try c.decode(String.self, forKey: .token)
                guard !token.hasPrefix(ticketPrefix) else {
                    throw DecodingError.dataCorruptedError(forKey: .token, in: c, debugDescription: "a ticket goes in \"ticket\"")
                }
            }
        }
    }
    private struct AvailabilityBody: Decodable {
        var status: String
        var until: String?
    }
    private struct CallRef: Decodable {
        var callId: String
        var requestId: String?
        var party: Double?
    }

    static func parse(_ bytes: some DataProtocol) -> Result<ClientMessage, Failure> {
        if let funnel = funnelFastPath(bytes) { return .success(funnel) }
        let envelope: Envelope
        switch JSONInput.decode(Envelope.self, from: bytes) {
        case .failure: return .failure(.badJSON)
        case .success(let e): envelope = e
        }
        let rid = envelope.requestId
        func body<T: Decodable>(_ t: T.Type) -> Result<T, Failure> {
            switch JSONInput.decode(T.self, from: bytes) {
            case .success(let v): return .success(v)
            case .failure(.badJSON): return .failure(.badJSON)
            case .failure(.invalid(let e)): return .failure(.invalid("\(e.field) \(e.message)", requestId: rid))
            }
        }
        switch envelope.type {
        case "hello":
            return body(Hello.self).map { .hello(token: $0.token) }
        case "availability":
            return body(AvailabilityBody.self).flatMap { a in
                guard a.status == "available" || a.status == "unavailable" else {
                    return .failure(.invalid("status must be \"available\" or \"unavailable\"", requestId: rid))
                }
                var until: Timestamp?
                if let text = a.until {
                    guard let t = RFC3339.parse(text) else { return .failure(.invalid("until must be an RFC 3339 time", requestId: rid)) }
                    until = t
                }
                return .success(.availability(available: a.status == "available", until: until))
            }
        case "location":
            return body(LocationInput.self).flatMap { l in
                do throws(ValidationError) {
                    return .success(.location(try Rules.location(lat: l.lat, lon: l.lon, field: "")))
                } catch {
                    return .failure(.invalid("\(error.field) \(error.message)", requestId: rid))
                }
            }
        case "accept", "decline", "withdraw", "received", "seen", "checkin", "checkout":
            return body(CallRef.self).flatMap { r in
                guard !r.callId.isEmpty, r.callId.utf8.count <= 64 else { return .failure(.invalid("callId is not a call id", requestId: rid)) }
                switch envelope.type {
                case "accept":
                    do throws(ValidationError) {
                        return .success(.accept(callId: r.callId, requestId: r.requestId, party: try Party.validate(r.party)))
                    } catch {
                        return .failure(.invalid("\(error.field) \(error.message)", requestId: rid))
                    }
                case "withdraw": return .success(.withdraw(callId: r.callId, requestId: r.requestId))
                case "received": return .success(.funnel(callId: r.callId, stage: .received))
                case "seen": return .success(.funnel(callId: r.callId, stage: .seen))
                case "checkin": return .success(.checkin(callId: r.callId, requestId: r.requestId, arrived: true))
                case "checkout": return .success(.checkin(callId: r.callId, requestId: r.requestId, arrived: false))
                default: return .success(.decline(callId: r.callId))
                }
            }
        default:
            return .failure(.unknownType(rid))
        }
    }
}
