import Testing
@testable import VideoIO

@Suite("VideoIO smoke") struct VideoIOSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
