/// A minimal MP4 (ISO base media file format, ISO/IEC 14496-12 and -15) writer for one H.264 video track,
/// used by `H264MP4Writer`. The file is built in memory and laid out as
///
///     ftyp · mdat (every sample, in decoding order, one chunk) · moov
///     moov: mvhd · trak (tkhd · edts/elst · mdia (mdhd · hdlr · minf (vmhd · dinf/dref · stbl))) · udta
///     stbl: stsd (avc1: avcC · colr · pasp) · stts · stss (when not every frame is a keyframe) ·
///           ctts (when frames are reordered) · stsc · stsz · stco
///
/// Timing follows what players expect of FFmpeg's MP4s, so that our files and theirs read back alike: the
/// track's timescale is the frame rate's numerator doubled until it is at least 10000 (8 fps: 16384 ticks
/// a second, 2048 a frame), decoding times start at zero, composition offsets (`ctts`) carry the B-frame
/// reordering, and an edit list starts the presentation at the first frame's composition time, so the
/// first frame shows at time zero and every frame, the last included, lasts one frame period.
/// The `comment` tag (the odd-size record of `VideoWriter`) and the encoder name go to iTunes-style
/// metadata (`udta/meta/ilst`, `©cmt` and `©too`), where libavformat reads them back as `comment` and `encoder`.
enum MP4File {
    /// The file's bytes. `packets` are in decoding order, their NAL units with 4-byte lengths, times in
    /// frames; `rate` is frames per second as num/den; `tags` are (key, value) pairs of which `comment` is kept.
    /// The track's timescale, one frame in its ticks, and the track's and the movie's durations (the movie's in
    /// milliseconds, rounded up); nil when a duration does not fit the 32 bits of the version-0 boxes written
    /// here (very long clips or very low frame rates: `VideoWriter` then writes through libavformat).
    static func durations(frames: Int, rate: (num: Int, den: Int)) -> (timescale: Int, tick: Int, track: Int, movie: Int)? {
        guard frames > 0, rate.num > 0, rate.den > 0, rate.num <= Int(UInt32.max), rate.den <= Int(UInt32.max) else { return nil }
        var timescale = rate.num
        while timescale < 10_000 { timescale *= 2 }
        let tick = timescale / rate.num * rate.den
        let (track, o1) = frames.multipliedReportingOverflow(by: tick)
        guard !o1, track <= Int(UInt32.max), timescale <= Int(UInt32.max) else { return nil }
        let movie = (track * 1000 + timescale - 1) / timescale
        guard movie <= Int(UInt32.max) else { return nil }
        return (timescale, tick, track, movie)
    }

    static func h264(sps: [UInt8], pps: [UInt8], packets: [H264MP4Writer.Packet], width: Int, height: Int,
                     rate: (num: Int, den: Int), tags: [(String, String)], path: String) throws -> [UInt8] {
        guard !packets.isEmpty, rate.num > 0, rate.den > 0, sps.count >= 4 else {
            throw VideoIOError(.encodingFailed, path: path, reason: "nothing to put in the MP4 file")
        }
        guard let (timescale, tick, trackDuration, movieDuration) = durations(frames: packets.count, rate: rate) else {
            throw VideoIOError(.encodingFailed, path: path, reason: "\(packets.count) frames at \(rate.num)/\(rate.den) fps "
                                   + "last longer than a version-0 MP4 box can say")
        }
        let shift = -packets[0].dts                            // decoding times start at zero
        let firstPresented = packets.map(\.pts).min()!

        var out = ByteWriter()
        out.box("ftyp") { b in
            b.fourCC("isom"); b.u32(512)
            for brand in ["isom", "iso2", "avc1", "mp41"] { b.fourCC(brand) }
        }
        let payload = packets.reduce(0) { $0 + $1.bytes.count }
        guard out.count + 8 + payload < Int(UInt32.max) else {
            throw VideoIOError(.encodingFailed, path: path, reason: "the clip's \(payload) bytes of video are too many for one MP4 file")
        }
        out.u32(UInt32(8 + payload)); out.fourCC("mdat")
        let mdatData = out.count
        for p in packets { out.bytes(p.bytes) }

        out.box("moov") { moov in
            moov.box("mvhd") { b in
                b.u32(0)                                        // version 0, flags 0
                b.u32(0); b.u32(0)                              // creation, modification time
                b.u32(1000); b.u32(UInt32(movieDuration))
                b.u32(0x0001_0000); b.u16(0x0100); b.zeros(10)  // rate 1.0, volume 1.0, reserved
                b.matrix()
                b.zeros(24)                                     // pre_defined
                b.u32(2)                                        // next track ID
            }
            moov.box("trak") { trak in
                trak.box("tkhd") { b in
                    b.u32(0x0000_0003)                          // version 0, enabled and in the movie
                    b.u32(0); b.u32(0)
                    b.u32(1); b.u32(0)                          // track ID, reserved
                    b.u32(UInt32(movieDuration))
                    b.zeros(8); b.u16(0); b.u16(0); b.u16(0); b.u16(0)   // reserved, layer, group, volume, reserved
                    b.matrix()
                    b.u32(UInt32(width) << 16); b.u32(UInt32(height) << 16)
                }
                trak.box("edts") { edts in
                    edts.box("elst") { b in
                        b.u32(0); b.u32(1)
                        b.u32(UInt32(movieDuration))
                        b.u32(UInt32(truncatingIfNeeded: Int((firstPresented + shift)) * tick))   // media time
                        b.u16(1); b.u16(0)                      // rate 1.0
                    }
                }
                trak.box("mdia") { mdia in
                    mdia.box("mdhd") { b in
                        b.u32(0); b.u32(0); b.u32(0)
                        b.u32(UInt32(timescale)); b.u32(UInt32(trackDuration))
                        b.u16(0x55C4); b.u16(0)                 // language "und"
                    }
                    mdia.box("hdlr") { b in
                        b.u32(0); b.u32(0); b.fourCC("vide"); b.zeros(12)
                        b.bytes(Array("VideoHandler".utf8)); b.u8(0)
                    }
                    mdia.box("minf") { minf in
                        minf.box("vmhd") { b in b.u32(1); b.zeros(8) }
                        minf.box("dinf") { dinf in
                            dinf.box("dref") { b in
                                b.u32(0); b.u32(1)
                                b.box("url ") { u in u.u32(1) }  // the media is in this file
                            }
                        }
                        minf.box("stbl") { stbl in
                            sampleTables(&stbl, sps: sps, pps: pps, packets: packets, width: width, height: height,
                                         tick: tick, shift: shift, chunkOffset: mdatData)
                        }
                    }
                }
            }
            moov.box("udta") { udta in
                udta.box("meta") { meta in
                    meta.u32(0)
                    meta.box("hdlr") { b in b.u32(0); b.u32(0); b.fourCC("mdir"); b.fourCC("appl"); b.zeros(8); b.u8(0) }
                    meta.box("ilst") { ilst in
                        var items: [(String, String)] = [("\u{A9}too", "tdm-video")]
                        for (key, value) in tags where key == "comment" { items.append(("\u{A9}cmt", value)) }
                        for (name, value) in items {
                            ilst.box(name) { item in
                                item.box("data") { d in d.u32(1); d.u32(0); d.bytes(Array(value.utf8)) }   // UTF-8 text
                            }
                        }
                    }
                }
            }
        }
        return out.data
    }

    /// stsd (the avc1 sample entry), stts, stss, ctts, stsc, stsz and stco.
    private static func sampleTables(_ stbl: inout ByteWriter, sps: [UInt8], pps: [UInt8], packets: [H264MP4Writer.Packet],
                                     width: Int, height: Int, tick: Int, shift: Int64, chunkOffset: Int) {
        stbl.box("stsd") { b in
            b.u32(0); b.u32(1)
            b.box("avc1") { e in
                e.zeros(6); e.u16(1)                            // reserved, data reference index
                e.zeros(16)                                     // pre_defined and reserved
                e.u16(UInt16(width)); e.u16(UInt16(height))
                e.u32(0x0048_0000); e.u32(0x0048_0000)          // 72 dpi
                e.u32(0); e.u16(1)                              // reserved, one frame per sample
                e.zeros(32)                                     // compressor name (empty)
                e.u16(0x0018); e.u16(0xFFFF)                    // depth 24, pre_defined -1
                e.box("avcC") { c in
                    // AVCDecoderConfigurationRecord: profile, compatibility and level from the SPS; 4-byte lengths.
                    c.u8(1); c.u8(sps[1]); c.u8(sps[2]); c.u8(sps[3]); c.u8(0xFF)
                    c.u8(0xE1); c.u16(UInt16(sps.count)); c.bytes(sps)
                    c.u8(1); c.u16(UInt16(pps.count)); c.bytes(pps)
                    if [100, 110, 122, 144].contains(sps[1]) {
                        // High profiles: 4:2:0 chroma, 8-bit luma and chroma (what the encoder is given), no SPS extensions.
                        c.u8(0xFC | 1); c.u8(0xF8 | 0); c.u8(0xF8 | 0); c.u8(0)
                    }
                }
                e.box("colr") { c in c.fourCC("nclx"); c.u16(1); c.u16(1); c.u16(1); c.u8(0) }   // BT.709, limited range
                e.box("pasp") { c in c.u32(1); c.u32(1) }       // square pixels
            }
        }
        // Decoding times: consecutive frames, the last lasting one frame too.
        var deltas: [Int] = []
        for i in 0..<packets.count {
            deltas.append(i + 1 < packets.count ? Int(packets[i + 1].dts - packets[i].dts) * tick : tick)
        }
        stbl.box("stts") { b in runLengths(&b, deltas) }
        if packets.contains(where: { !$0.keyframe }) {
            stbl.box("stss") { b in
                let keys = packets.indices.filter { packets[$0].keyframe }
                b.u32(0); b.u32(UInt32(keys.count))
                for k in keys { b.u32(UInt32(k + 1)) }
            }
        }
        let offsets = packets.map { Int($0.pts - $0.dts) * tick }
        if offsets.contains(where: { $0 != 0 }) {
            stbl.box("ctts") { b in runLengths(&b, offsets) }
        }
        stbl.box("stsc") { b in b.u32(0); b.u32(1); b.u32(1); b.u32(UInt32(packets.count)); b.u32(1) }
        stbl.box("stsz") { b in
            b.u32(0); b.u32(0); b.u32(UInt32(packets.count))
            for p in packets { b.u32(UInt32(p.bytes.count)) }
        }
        stbl.box("stco") { b in b.u32(0); b.u32(1); b.u32(UInt32(chunkOffset)) }
    }

    /// A full box body of (count, value) runs: version/flags, entry count, entries.
    private static func runLengths(_ b: inout ByteWriter, _ values: [Int]) {
        var runs: [(Int, Int)] = []
        for v in values {
            if let last = runs.last, last.1 == v { runs[runs.count - 1].0 += 1 } else { runs.append((1, v)) }
        }
        b.u32(0); b.u32(UInt32(runs.count))
        for (n, v) in runs { b.u32(UInt32(n)); b.u32(UInt32(truncatingIfNeeded: v)) }
    }
}

/// Big-endian bytes and size-prefixed boxes.
struct ByteWriter {
    private(set) var data: [UInt8] = []
    var count: Int { data.count }

    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func u16(_ v: UInt16) { data.append(UInt8(v >> 8)); data.append(UInt8(v & 0xFF)) }
    mutating func u32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { data.append(UInt8((v >> UInt32(s)) & 0xFF)) } }
    mutating func bytes(_ b: [UInt8]) { data.append(contentsOf: b) }
    mutating func zeros(_ n: Int) { data.append(contentsOf: repeatElement(0, count: n)) }
    /// A four-character code; names starting with © are Latin-1 (one byte), as the format writes them.
    mutating func fourCC(_ code: String) {
        let scalars = Array(code.unicodeScalars)
        precondition(scalars.count == 4 && scalars.allSatisfy { $0.value < 256 }, "four Latin-1 characters")
        for s in scalars { data.append(UInt8(s.value)) }
    }
    /// The identity transformation matrix of mvhd and tkhd.
    mutating func matrix() {
        for v: UInt32 in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] { u32(v) }
    }
    /// A box: its 32-bit size, its type, then what `body` writes.
    mutating func box(_ type: String, _ body: (inout ByteWriter) -> Void) {
        let start = data.count
        u32(0); fourCC(type)
        body(&self)
        let size = UInt32(data.count - start)
        for (i, s) in stride(from: 24, through: 0, by: -8).enumerated() { data[start + i] = UInt8((size >> UInt32(s)) & 0xFF) }
    }
}
