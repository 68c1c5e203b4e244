import Testing
@testable import ShapeWorld

@Suite("ShapeWorld smoke") struct ShapeWorldSmokeTests {
    @Test func moduleLinks() { #expect(Bool(true)) }
}
