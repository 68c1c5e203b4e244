import VideoCommon
/// Names an RGB colour with VBench's colour vocabulary by HSV bins.
///
/// VBench's colour dimension asks GRiT's region captions for one of {white, red, pink, blue, silver,
/// purple, orange, green, gray, yellow, black, grey}; its prompts use nine of them (red, orange, yellow,
/// green, blue, purple, pink, black, white). We name a pixel or a region's mean colour with the nine,
/// plus "grey" for achromatic mid tones (VBench's gray/grey/silver), so a grey region is nameable (it
/// enters VBench's denominator) but never matches a prompt colour.
public enum ColorNaming {
    /// VBench's nine prompt colours.
    /// VBench's nine colour words, which are the world's colours.
    public static let promptColors = WorldColor.allCases.map(\.rawValue)
    /// Every name `name(r:g:b:)` can return.
    public static let allNames = promptColors + ["grey"]

    /// HSV of 0...255 RGB: hue in degrees [0, 360), saturation and value in [0, 1].
    @inline(__always)
    static func hsv(_ r: Float, _ g: Float, _ b: Float) -> (h: Float, s: Float, v: Float) {
        let mx = max(r, g, b), mn = min(r, g, b)
        let v = mx / 255
        let d = mx - mn
        let s: Float = mx > 0 ? d / mx : 0
        var h: Float = 0
        if d > 0 {
            if mx == r { h = 60 * ((g - b) / d) }
            else if mx == g { h = 60 * ((b - r) / d + 2) }
            else { h = 60 * ((r - g) / d + 4) }
            if h < 0 { h += 360 }
        }
        return (h, s, v)
    }

    /// Index into `allNames` (0...9) of the colour of (r, g, b), 0...255 each.
    ///
    /// Bins: black V < 0.22; achromatic (S < 0.18): white V > 0.78, black V < 0.35, else grey; hues:
    /// red < 12° or ≥ 345° (pink when pale: S < 0.55 and V > 0.75), orange 12–40°, yellow 40–70°,
    /// green 70–165°, blue 165–255° (cyan counts as blue: VBench has no cyan), purple 255–290°,
    /// magenta 290–345° is pink when bright (V ≥ 0.65) and purple when dark.
    @inline(__always)
    static func index(_ r: Float, _ g: Float, _ b: Float) -> Int {
        let (h, s, v) = hsv(r, g, b)
        if v < 0.22 { return 7 }
        if s < 0.18 {
            if v > 0.78 { return 8 }
            if v < 0.35 { return 7 }
            return 9
        }
        if h < 12 || h >= 345 { return (s < 0.55 && v > 0.75) ? 6 : 0 }
        if h < 40 { return 1 }
        if h < 70 { return 2 }
        if h < 165 { return 3 }
        if h < 255 { return 4 }
        if h < 290 { return 5 }
        return v >= 0.65 ? 6 : 5
    }

    /// The name of (r, g, b), 0...255 each.
    public static func name(r: Double, g: Double, b: Double) -> String {
        allNames[index(Float(r), Float(g), Float(b))]
    }

    /// The first of VBench's nine colours (or "grey"/"gray") that appears as a word of `text`.
    static func colorWord(in text: String) -> String? {
        let words = text.lowercased().split(whereSeparator: { !$0.isLetter }).map(String.init)
        for w in words {
            if promptColors.contains(w) { return w }
            if w == "grey" || w == "gray" { return "grey" }
        }
        return nil
    }
}
