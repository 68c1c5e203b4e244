import Foundation
import TensorCore

/// Locates `../shared/fixtures` beside the package root (CI clones the repo with shared/ beside it).
enum Fixtures {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let root = packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")

    static func url(_ path: String) -> URL { root.appendingPathComponent(path) }

    static func file(_ path: String) throws -> SafeTensorsFile { try SafeTensorsFile.read(url(path)) }
}
