import Foundation
import HelferrufCore
import NIOCore
import Testing
@testable import HelferrufServer

/// The fan-out's per-recipient frames (``AlertFrame``) must carry exactly the bytes the JSON
/// writer produces for the same alert (PROTOCOL.md §4), in a well-formed WebSocket frame.
@Suite struct AlertFrameTests {
    private func call(description: String = "Sandsäcke füllen, \"dringend\"\n") -> Call {
        Call(
            id: "0f8fad5b-d9cb-469f-a165-70867728950e", orgId: "org-1", orgName: "THW Köln", title: "Hochwasser",
            description: description, address: "Rheinufer 1", location: GeoPoint(lat: 50.9375, lon: 6.9603), radiusKm: 12.5,
            needed: 20, skills: ["lifting", "first-aid"], startsAt: Timestamp(millis: 1_800_000_000_000),
            endsAt: Timestamp(millis: 1_800_007_200_000), createdAt: Timestamp(millis: 1_799_999_000_000), alerted: 3)
    }

    /// The alert as the general writer encodes it (as `welcome` does).
    private func reference(_ c: Call, _ d: Double) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"type\":\"alert\",\"call\":")
        Wire.alertObject(c, distanceKm: d, into: &w)
        w.raw("}")
        return w.bytes
    }

    /// Reads one unmasked frame: (fin, opcode, payload), and nothing may follow it.
    private func decode(_ frame: OutboundFrame) throws -> (fin: Bool, opcode: UInt8, payload: [UInt8]) {
        let bytes = Array(frame.bytes.readableBytesView)
        try #require(bytes.count >= 2)
        #expect(bytes[1] & 0x80 == 0, "a server's frame is not masked")
        var length = Int(bytes[1] & 0x7F)
        var at = 2
        if length == 126 {
            length = Int(bytes[2]) << 8 | Int(bytes[3])
            at = 4
        } else if length == 127 {
            length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[2 + $1]) }
            at = 10
        }
        #expect(at == frame.headerBytes)
        try #require(bytes.count == at + length, "the header's length is the payload's")
        return (bytes[0] & 0x80 != 0, bytes[0] & 0x0F, Array(bytes[at...]))
    }

    @Test(arguments: [
        0, 0.05, 99.95, 100, 0.0004, 0.0005, 0.001, 0.01, 0.1, 1, 1.5, 3.14159, 9.9995, 9.9994, 12, 99.9999, 100.0004,
        123.456, 999.9995, 1234.5678, 20_015.086, 1e6 + 0.5, 987_654_321.123, -0.0, -2.5, 1e13, 1.5e20, .nan, .infinity,
    ] as [Double])
    func theFrameCarriesTheWritersBytes(_ distance: Double) throws {
        let c = call()
        let decoded = try decode(AlertFrame(c).frame(distanceKm: distance))
        #expect(decoded.fin && decoded.opcode == 0x1, "a final text frame")
        #expect(decoded.payload == reference(c, distance), "\(distance): \(String(decoding: decoded.payload, as: UTF8.self).suffix(30))")
    }

    @Test func randomDistancesAgreeWithTheWriter() throws {
        var rng = SystemRandomNumberGenerator()
        let c = call()
        let frames = AlertFrame(c)
        for _ in 0..<2000 {
            let d = Double.random(in: 0..<500, using: &rng)
            let decoded = try decode(frames.frame(distanceKm: d))
            #expect(decoded.payload == reference(c, d), "\(d)")
        }
    }

    /// Small payloads take a 2-byte header, those past 65,535 bytes a 10-byte one.
    @Test(arguments: [0, 70_000])
    func longAndShortFramesHaveTheRightHeader(_ descriptionBytes: Int) throws {
        let c = call(description: String(repeating: "x", count: descriptionBytes))
        let frame = AlertFrame(c).frame(distanceKm: 7.25)
        let decoded = try decode(frame)
        #expect(decoded.payload == reference(c, 7.25))
        #expect(frame.headerBytes == (decoded.payload.count > 0xFFFF ? 10 : decoded.payload.count < 126 ? 2 : 4))
        // Without the encoder, the same payload goes out as NIO's encoder would frame it.
        #expect(Array(frame.webSocketFrame.data.readableBytesView) == decoded.payload)
    }

    @Test func headersOfEveryLengthClass() {
        for payload in [0, 1, 125, 126, 127, 0xFFFF, 0x10000, 1 << 20] {
            var bytes = [UInt8](repeating: 0, count: 10)
            let size = bytes.withUnsafeMutableBytes { FrameHeader.write(payload: payload, into: $0) }
            #expect(size == FrameHeader.size(payload: payload))
            #expect(bytes[0] == 0x81)
            switch size {
            case 2: #expect(Int(bytes[1]) == payload)
            case 4: #expect(bytes[1] == 126 && Int(bytes[2]) << 8 | Int(bytes[3]) == payload)
            default: #expect(bytes[1] == 127 && (0..<8).reduce(0) { $0 << 8 | Int(bytes[2 + $1]) } == payload)
            }
        }
    }
}
