import Foundation
import VideoCommon

/// The prompt grammar: natural English for a scene, and back.
///
///     prompt  := objects [", camera " CAMERA] [", " BACKGROUND " background"]
///     objects := object | object " " RELATION " " object
///     object  := ("a" | "an") " " [FILL " "] COLOR " " SHAPE [" " MOTION]
///
/// e.g. "a red circle moving left, plain background", "a blue square, camera zooming in, textured
/// background", "a pink triangle on the left of a green diamond, gradient background", "a striped red
/// circle moving left, plain background". A prompt without a fill word reads exactly as before.
public enum Grammar {
    public static var help: String {
        """
        prompts look like "a red circle moving left, plain background" or
        "a pink triangle on the left of a green diamond, camera panning right, textured background":
          fills (optional, before the colour): \(ObjectFill.allCases.map(\.rawValue).joined(separator: ", ")), e.g. "a striped red circle"
          colours: \(WorldColor.allCases.map(\.rawValue).joined(separator: ", "))
          shapes: \(WorldShape.allCases.map(\.rawValue).joined(separator: ", "))
          motions: \(ObjectMotion.allCases.filter { $0 != .still }.map(\.rawValue).joined(separator: ", ")) (or none)
          relations: \(Relation.allCases.map(\.rawValue).joined(separator: ", "))
          camera: "camera " + one of \(CameraMotion.allCases.filter { $0 != .still }.map(\.rawValue).joined(separator: ", "))
          backgrounds: \(Background.allCases.map { $0.rawValue + " background" }.joined(separator: ", "))
        """
    }

    public static func objectPhrase(_ o: SceneObject) -> String {
        let words = (o.fill.map { "\($0.rawValue) " } ?? "") + "\(o.color.rawValue) \(o.shape.rawValue)"
        let article = "aeiou".contains(words.first!) ? "an" : "a"
        return "\(article) \(words)" + (o.motion == .still ? "" : " \(o.motion.rawValue)")
    }

    public static func prompt(_ s: SceneSpec) -> String {
        var p = objectPhrase(s.objects[0])
        if let r = s.relation, s.objects.count == 2 { p += " \(r.rawValue) " + objectPhrase(s.objects[1]) }
        if s.camera != .still { p += ", camera \(s.camera.rawValue)" }
        return p + ", \(s.background.rawValue) background"
    }

    public struct ParseError: Error, CustomStringConvertible {
        public var prompt: String
        public var reason: String
        public var description: String { "prompt \"\(prompt)\" is outside the world's grammar: \(reason)\n\(Grammar.help)" }
    }

    static func parseObject(_ text: String, _ prompt: String) throws -> SceneObject {
        var words = text.split(separator: " ").map(String.init)
        guard let first = words.first, first == "a" || first == "an" else {
            throw ParseError(prompt: prompt, reason: "an object starts with \"a\" or \"an\" (got \"\(text)\")")
        }
        words.removeFirst()
        var fill: ObjectFill? = nil
        if let first = words.first, let f = ObjectFill(rawValue: first) {
            fill = f
            words.removeFirst()
        }
        guard words.count >= 2, let color = WorldColor(rawValue: words[0]) else {
            throw ParseError(prompt: prompt, reason: "unknown colour in \"\(text)\"")
        }
        guard let shape = WorldShape(rawValue: words[1]) else {
            throw ParseError(prompt: prompt, reason: "unknown shape in \"\(text)\"")
        }
        let rest = words.dropFirst(2).joined(separator: " ")
        let motion: ObjectMotion
        if rest.isEmpty { motion = .still } else if let m = ObjectMotion(rawValue: rest), m != .still { motion = m } else {
            throw ParseError(prompt: prompt, reason: "unknown motion \"\(rest)\"")
        }
        return SceneObject(color, shape, motion, fill: fill)
    }

    public static func parse(_ prompt: String) throws -> SceneSpec {
        var text = prompt.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        while text.hasSuffix(".") { text.removeLast() }
        text = text.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
        guard !text.isEmpty else { throw ParseError(prompt: prompt, reason: "it is empty") }
        let parts = text.components(separatedBy: ", ")
        var spec = SceneSpec(objects: [])
        for part in parts.dropFirst() {
            if part.hasPrefix("camera ") {
                guard let c = CameraMotion(rawValue: String(part.dropFirst("camera ".count))), c != .still else {
                    throw ParseError(prompt: prompt, reason: "unknown camera motion in \"\(part)\"")
                }
                spec.camera = c
            } else if part.hasSuffix(" background"), let b = Background(rawValue: String(part.dropLast(" background".count))) {
                spec.background = b
            } else {
                throw ParseError(prompt: prompt, reason: "cannot read \"\(part)\"")
            }
        }
        let head = parts[0]
        if let r = Relation.allCases.first(where: { head.contains(" \($0.rawValue) ") }) {
            let sides = head.components(separatedBy: " \(r.rawValue) ")
            guard sides.count == 2 else { throw ParseError(prompt: prompt, reason: "a relation joins exactly two objects") }
            spec.objects = [try parseObject(sides[0], prompt), try parseObject(sides[1], prompt)]
            spec.relation = r
            guard spec.objects.allSatisfy({ $0.motion == .still }) else {
                throw ParseError(prompt: prompt, reason: "objects in a relation do not move")
            }
            guard spec.objects[0].shape != spec.objects[1].shape || spec.objects[0].color != spec.objects[1].color else {
                throw ParseError(prompt: prompt, reason: "the two objects must differ")
            }
        } else {
            spec.objects = [try parseObject(head, prompt)]
        }
        return spec
    }
}
