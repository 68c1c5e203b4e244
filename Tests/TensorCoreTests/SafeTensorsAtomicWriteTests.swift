import AtomicFiles
import Foundation
import Testing
@testable import TensorCore

@Suite("SafeTensors atomic write") struct SafeTensorsAtomicWriteTests {
    private func makeDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("safetensors-atomic-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    private func listing(_ directory: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    }

    private func sample(_ value: Float) throws -> [(name: String, tensor: SafeTensor)] {
        [("w", try SafeTensor(floats: [value, value + 1, value + 2], shape: [3]))]
    }

    @Test func successLeavesOnlyTheTarget() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try SafeTensorsFile.write(try sample(1), metadata: ["format": "pt"], to: url)
        #expect(try listing(directory) == ["model.safetensors"])
        // Overwriting replaces the content, still with no leftovers.
        try SafeTensorsFile.write(try sample(10), to: url)
        #expect(try listing(directory) == ["model.safetensors"])
        #expect(try SafeTensorsFile.read(url)["w"]?.floats() == [10, 11, 12])
        // The instance method writes the same bytes as serialize.
        let file = try SafeTensorsFile.read(url)
        let copy = directory.appendingPathComponent("copy.safetensors")
        try file.write(to: copy)
        #expect(try Data(contentsOf: copy) == file.serialized())
        #expect(try listing(directory) == ["copy.safetensors", "model.safetensors"])
    }

    @Test func failureBeforeTheTemporaryFileLeavesNothing() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("missing-folder/model.safetensors")
        let tensors = try sample(1)
        do {
            try SafeTensorsFile.write(tensors, to: url)
            Issue.record("wrote into a folder that does not exist")
        } catch {
            #expect(error.description.contains(url.path))
            guard case .ioFailure = error.defect else { Issue.record("\(error)"); return }
        }
        #expect(try listing(directory).isEmpty)
    }

    @Test func targetThatIsADirectoryIsRefusedUntouched() throws {
        // The target is a non-empty directory: refused before anything is written, named, and left as it was.
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: false)
        try Data([1]).write(to: url.appendingPathComponent("occupant"))
        let tensors = try sample(1)
        do {
            try SafeTensorsFile.write(tensors, to: url)
            Issue.record("wrote over a non-empty directory")
        } catch {
            #expect(error.description.contains("model.safetensors"))
            #expect(error.description.contains("is a directory"))
        }
        #expect(try listing(directory) == ["model.safetensors"])
        #expect(try listing(url) == ["occupant"])
    }

    @Test func failureAfterTheTemporaryFileRemovesIt() throws {
        // The producer fails after part of the file was written: the temporary file is removed, the old
        // file stays, and the producer's own error comes through.
        struct Interrupted: Error {}
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try Data("old".utf8).write(to: url)
        #expect(throws: Interrupted.self) {
            try AtomicFile.write(to: url) { sink in
                try [UInt8](repeating: 7, count: 1 << 16).withUnsafeBytes { try sink($0) }
                throw Interrupted()
            }
        }
        #expect(try listing(directory) == ["model.safetensors"])
        #expect(try Data(contentsOf: url) == Data("old".utf8))
    }

    @Test func refusedInputLeavesTheOldFileIntact() throws {
        let directory = try makeDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let url = directory.appendingPathComponent("model.safetensors")
        try SafeTensorsFile.write(try sample(1), to: url)
        let before = try Data(contentsOf: url)
        #expect(throws: SafeTensorsError.self) {
            try SafeTensorsFile.write(try sample(5) + sample(6), to: url)  // duplicate name "w"
        }
        #expect(try Data(contentsOf: url) == before)
        #expect(try listing(directory) == ["model.safetensors"])
    }

    @Test func unwritableDirectory() throws {
        let directory = try makeDirectory()
        defer {
            try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
            try? FileManager.default.removeItem(at: directory)
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: directory.path)
        let url = directory.appendingPathComponent("model.safetensors")
        let tensors = try sample(1)
        do {
            try SafeTensorsFile.write(tensors, to: url)
        } catch {
            #expect(error.description.contains(url.path))
            #expect(try listing(directory).isEmpty)
            return
        }
        // Only possible with privileges that bypass permissions (root): then the file must be complete.
        #expect(geteuid() == 0, "wrote into a read-only directory without privileges")
        #expect(try SafeTensorsFile.read(url)["w"]?.floats() == [1, 2, 3])
        #expect(try listing(directory) == ["model.safetensors"])
    }
}
