import ArgumentParser
import TDMVideo
import VideoCommon
import VideoModel

// Named choices are typed on the command line too: `--scheduler ddim`, with the allowed values in
// `--help` and a usage error for anything else.
extension SchedulerKind: ExpressibleByArgument {}
extension GeneratorLoss: ExpressibleByArgument {}
extension Matching: ExpressibleByArgument {}
extension WorldDetail: ExpressibleByArgument {}
extension LoRAMode: ExpressibleByArgument {}
