import CFFmpeg
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// FFmpeg's libraries, opened on first use instead of linked.
///
/// Linking libavformat/libavcodec made every `tdm-video` command, `--help` included, pay for loading
/// libavcodec's ~150 dependent libraries and running their constructors (~45 ms on the 2-core machine,
/// where the whole `--help` took 75 ms). Now nothing links FFmpeg: the headers give the types, and the
/// functions VideoIO calls are resolved once into a table (`cffmpeg_api`, listed in
/// Sources/CFFmpeg/shim.h) with `dlopen`/`dlsym`, the first time a clip or picture is read or written.
/// A command that knows it will touch video calls `preloadInBackground()` at its start, so that the
/// loading overlaps its other work.
///
/// The libraries are opened by their versioned names, with the major versions of the headers compiled
/// against (`libavcodec.so.59` for FFmpeg 5.1): VideoIO reads FFmpeg's structs field by field, so only
/// a library of the same ABI may be used. The outcome, success or the error, is computed once (a Swift
/// `static let`, whose initialisation is thread-safe); a missing library is a `VideoIOError` of kind
/// `.libraryUnavailable` naming it, thrown by every read or write, never a trap.
public enum FFmpegLibrary {
    /// The shared-library file names, in load order (each after the libraries it depends on).
    static let libraryNames: [String] = [
        ("avutil", Int(LIBAVUTIL_VERSION_MAJOR)), ("swscale", Int(LIBSWSCALE_VERSION_MAJOR)),
        ("avcodec", Int(LIBAVCODEC_VERSION_MAJOR)), ("avformat", Int(LIBAVFORMAT_VERSION_MAJOR)),
    ].map { name, major in
        #if canImport(Darwin)
        "lib\(name).\(major).dylib"
        #else
        "lib\(name).so.\(major)"
        #endif
    }

    /// The table, or why it could not be made: computed once, by the thread-safe lazy initialisation of a
    /// `static let`, and only read afterwards.
    private static let loaded: Result<cffmpeg_api, LoadFailure> = {
        let result = load(libraryNames)
        if case .success(let api) = result { api.av_log_set_level(FFmpegLogging.requestedLevel) }
        return result
    }()

    /// libavutil and libswscale alone (the RGB to yuv420p conversion of the H.264 MP4 writer), opened once.
    /// When the whole table is loaded too, `dlopen` hands back the same two libraries.
    private static let pixelsLoaded: Result<cffmpeg_pixels_api, LoadFailure> = {
        let result = resolveTable(Array(libraryNames.prefix(2)), cffmpeg_resolve_pixels)
        if case .success(let api) = result { api.av_log_set_level(FFmpegLogging.requestedLevel) }
        return result
    }()

    /// The conversion functions (libavutil and libswscale only), or nil if they cannot be loaded.
    static var pixels: cffmpeg_pixels_api? {
        if case .success(let api) = pixelsLoaded { return api }
        return nil
    }

    /// Why the libraries could not be used: the library, and the loader's words.
    struct LoadFailure: Error, Equatable {
        var library: String
        var reason: String
    }

    /// The FFmpeg functions, for an operation on `path` (named in the error if FFmpeg is missing).
    static func api(for path: String) throws -> cffmpeg_api {
        switch loaded {
        case .success(let api): return api
        case .failure(let failure): throw error(failure, path: path)
        }
    }

    /// The error every read or write throws when FFmpeg cannot be loaded.
    static func error(_ failure: LoadFailure, path: String) -> VideoIOError {
        VideoIOError(.libraryUnavailable, path: path,
                     reason: "reading and writing video needs FFmpeg's shared library \(failure.library), "
                         + "which cannot be loaded: \(failure.reason) (FFmpeg \(libraryNames.joined(separator: ", ")) "
                         + "are needed; on Debian/Ubuntu `make deps` installs them)")
    }

    /// Starts opening the libraries on a background thread and returns at once. Commands that will read
    /// or write video call it first; the first read or write then waits only for what is left.
    ///
    /// While one thread is inside `dlopen`, glibc's loader locks stop every other thread that calls
    /// `dlopen` or `dlsym` (`dl_load_lock`) or creates a thread (`pthread_create` allocates the new
    /// thread's TLS under `dl_load_tls_lock`): FFmpeg's ~30 ms of loading would stall the command's own
    /// first `dlopen` of OpenBLAS and the start of the Dispatch workers, and nothing would overlap (a
    /// single-clip sample sat ~70 ms idle that way, by `perf`). So the background thread first runs
    /// `first` (e.g. opening OpenBLAS), then starts the Dispatch workers, and only then opens FFmpeg;
    /// during that load the other threads only compute.
    ///
    /// With `mp4Only` (the command writes MP4 files and reads no video) only what the H.264 MP4 writer
    /// needs is opened: libx264, libavutil and libswscale (~2 ms instead of ~30), or, where that writer
    /// cannot run (no libx264 of the headers' version), the whole of FFmpeg.
    public static func preloadInBackground(mp4Only: Bool = false, first: (@Sendable () -> Void)? = nil) {
        Thread.detachNewThread {
            first?()
            startDispatchWorkers()
            if mp4Only && H264MP4Writer.isAvailable { return }
            _ = loaded
        }
    }

    /// Runs one empty task per core on Dispatch's concurrent pool, so its worker threads exist (they stay
    /// for a few seconds when idle) before FFmpeg's `dlopen` would hold up their creation.
    static func startDispatchWorkers() {
        DispatchQueue.concurrentPerform(iterations: max(2, ProcessInfo.processInfo.activeProcessorCount)) { _ in }
    }

    /// Opens the libraries now (if not done yet) and reports whether FFmpeg can be used.
    public static var isAvailable: Bool {
        if case .success = loaded { return true }
        return false
    }

    /// Opens the libraries now (if not done yet), or throws the `.libraryUnavailable` error a read or
    /// write of `url` would throw.
    public static func load(for url: URL) throws { _ = try api(for: url.path) }

    /// Opens `names` in order and resolves every function of the table. Handles stay open for the life
    /// of the process (FFmpeg keeps global state and cannot be unloaded safely).
    static func load(_ names: [String]) -> Result<cffmpeg_api, LoadFailure> {
        precondition(names.count == Int(cffmpeg_library_count.rawValue), "one name per FFmpeg library")
        return resolveTable(names, cffmpeg_resolve)
    }

    /// Opens `names` in order and fills a function table from them with `resolve` (one of shim.h's
    /// `cffmpeg_resolve*`, which names the first missing function and the index of its library). On a
    /// failure every library opened here is closed again.
    static func resolveTable<Table>(_ names: [String],
                                    _ resolve: (UnsafeMutablePointer<Table>, UnsafePointer<UnsafeMutableRawPointer>,
                                                UnsafeMutablePointer<Int32>) -> UnsafePointer<CChar>?) -> Result<Table, LoadFailure> {
        var handles: [UnsafeMutableRawPointer] = []
        for name in names {
            guard let handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL) else {
                let reason = dlerror().map { String(cString: $0) } ?? "dlopen failed"
                for opened in handles.reversed() { dlclose(opened) }
                return .failure(LoadFailure(library: name, reason: reason))
            }
            handles.append(handle)
        }
        let table = UnsafeMutablePointer<Table>.allocate(capacity: 1)
        defer { table.deallocate() }
        var library: Int32 = 0
        let missing = handles.withUnsafeBufferPointer { resolve(table, $0.baseAddress!, &library) }
        if let missing {
            for opened in handles.reversed() { dlclose(opened) }
            return .failure(LoadFailure(library: names[Int(library)],
                                        reason: "it has no function \(String(cString: missing))"))
        }
        return .success(table.pointee)
    }

    /// How many FFmpeg functions VideoIO uses (the size of the table).
    static var functionCount: Int { Int(cffmpeg_function_count()) }
}
