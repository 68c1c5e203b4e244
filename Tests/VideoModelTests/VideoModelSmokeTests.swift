import Testing
@testable import VideoModel

@Suite("VideoModel smoke") struct VideoModelSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
