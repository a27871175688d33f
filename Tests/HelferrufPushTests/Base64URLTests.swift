import Foundation
import Testing

@testable import HelferrufPush

@Suite struct Base64URLTests {
    @Test(arguments: [
        ([UInt8](), ""),
        ([0xFB], "-w"),
        ([0xFB, 0xFF], "-_8"),
        ([0xFB, 0xFF, 0xBF], "-_-_"),
        (Array("When I grow up".utf8), "V2hlbiBJIGdyb3cgdXA"),
    ])
    func encodesWithoutPaddingAndDecodesBack(bytes: [UInt8], text: String) {
        #expect(Base64URL.encode(bytes) == text)
        #expect(Base64URL.decode(text) == Data(bytes))
    }

    @Test(arguments: [("-w==", [UInt8]([0xFB])), ("-_8=", [0xFB, 0xFF]), ("V2hlbiBJIGdyb3cgdXA=", Array("When I grow up".utf8))])
    func acceptsCorrectPadding(text: String, bytes: [UInt8]) {
        #expect(Base64URL.decode(text) == Data(bytes))
    }

    @Test(arguments: ["+w", "/w", "-w=", "-w===", "-_8==", "=", "a", "abcde", "ab cd", "ab\ncd", "abc=d", "äb"])
    func refusesAnythingElse(text: String) {
        #expect(Base64URL.decode(text) == nil)
    }
}
