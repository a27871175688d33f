import Testing
@testable import HelferrufCore

@Suite struct RFC3339Tests {
    @Test func parsesUTCAndOffsets() {
        #expect(RFC3339.parse("2026-11-29T08:15:00Z")?.millis == 1_795_940_100_000)
        #expect(RFC3339.parse("2026-11-29T09:15:00+01:00")?.millis == 1_795_940_100_000)
        #expect(RFC3339.parse("2026-11-29T03:15:00-05:00")?.millis == 1_795_940_100_000)
        #expect(RFC3339.parse("2026-11-29t08:15:00z")?.millis == 1_795_940_100_000)
    }

    @Test func parsesFractions() {
        #expect(RFC3339.parse("2026-11-29T08:15:00.5Z")?.millis == 1_795_940_100_500)
        #expect(RFC3339.parse("2026-11-29T08:15:00.123456789Z")?.millis == 1_795_940_100_123)
    }

    @Test(arguments: [
        "", "2026-11-29", "2026-11-29T08:15:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z",
        "2026-11-29T24:00:00Z", "2026-11-29T08:15:00.Z", "2026-11-29T08:15:00+0100", "2026-11-29T08:15:00Zjunk",
        "２026-11-29T08:15:00Z", "2026-11-29T08:15:00+25:00",
    ])
    func rejectsMalformed(_ text: String) {
        #expect(RFC3339.parse(text) == nil)
    }

    /// Found by the fuzzer (Fuzz/Harnesses/rfc3339.swift): an offset moved year 0000 to year
    /// -1, which `format` cannot write. Only times that can be written back are accepted.
    @Test func refusesTimesOutsideFourDigitYears() {
        #expect(RFC3339.parse("0000-01-01T00:00:00+23:59") == nil)
        #expect(RFC3339.parse("9999-12-31T23:59:59-00:01") == nil)
        #expect(RFC3339.parse("0000-01-01T00:00:00Z")?.millis == RFC3339.writableRange.lowerBound)
        #expect(RFC3339.parse("9999-12-31T23:59:59.999Z")?.millis == RFC3339.writableRange.upperBound)
        #expect(RFC3339.format(Timestamp(millis: RFC3339.writableRange.lowerBound)) == "0000-01-01T00:00:00Z")
    }

    @Test func formatsUTCWithZ() {
        #expect(RFC3339.format(Timestamp(millis: 1_795_940_100_000)) == "2026-11-29T08:15:00Z")
        #expect(RFC3339.format(Timestamp(millis: 1_795_940_100_042)) == "2026-11-29T08:15:00.042Z")
        #expect(RFC3339.format(Timestamp(millis: 0)) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(Timestamp(millis: -1)) == "1969-12-31T23:59:59.999Z")
    }

    @Test func roundTripsAcrossYears() {
        var rng = SeededRandom(seed: 7)
        for _ in 0..<2000 {
            let t = Timestamp(millis: Int64.random(in: -2_000_000_000_000...10_000_000_000_000, using: &rng))
            #expect(RFC3339.parse(RFC3339.format(t)) == t)
        }
    }
}
