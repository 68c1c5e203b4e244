import Foundation
import Testing
@testable import TensorCore
@testable import VideoModel

/// The CogVideoX-2b schedulers against diffusers' float64 tables and step chains (1e-10).
@Suite("Schedulers vs diffusers fixtures") struct SchedulerFixtureTests {
    static func maxErr(_ a: [Double], _ b: [Double]) -> Double {
        zip(a, b).map { abs($0 - $1) }.max() ?? 0
    }

    @Test func alphasCumprodAndTimesteps() throws {
        let ref = try Fixtures.file("scheduler-cogvideox-2b/reference.safetensors")
        let ddim = CogVideoXDDIMScheduler()
        #expect(Self.maxErr(ddim.alphasCumprod, try #require(ref["alphas_cumprod"]).doubles()) < 1e-10)
        #expect(ddim.alphasCumprod[999] == 0)
        for n in [1, 4, 50] {
            let want = try #require(ref["ddim.timesteps.\(n)"]).int64s().map(Int.init)
            #expect(ddim.timesteps(steps: n) == want)
        }
        for n in [4, 50] {
            #expect(CogVideoXDPMScheduler().timesteps(steps: n) == (try #require(ref["dpm.timesteps.\(n)"])).int64s().map(Int.init))
        }
    }

    @Test(arguments: [1, 4, 50]) func ddimChain(steps: Int) throws {
        let ref = try Fixtures.file("scheduler-cogvideox-2b/reference.safetensors")
        let s = CogVideoXDDIMScheduler()
        let ts = s.timesteps(steps: steps)
        for (i, t) in ts.enumerated() {
            let x = try #require(ref["ddim.\(steps).sample\(i)"]).doubles()
            let v = try #require(ref["ddim.\(steps).model_output\(i)"]).doubles()
            let r = s.stepDouble(modelOutput: v, timestep: t, sample: x, steps: steps)
            #expect(Self.maxErr(r.predOriginal, try #require(ref["ddim.\(steps).pred_original\(i)"]).doubles()) < 1e-10)
            #expect(Self.maxErr(r.prevSample, try #require(ref["ddim.\(steps).sample\(i + 1)"]).doubles()) < 1e-10)
        }
    }

    @Test(arguments: [4, 50]) func dpmChain(steps: Int) throws {
        let ref = try Fixtures.file("scheduler-cogvideox-2b/reference.safetensors")
        var s = CogVideoXDPMScheduler()
        let ts = s.timesteps(steps: steps)
        for (i, t) in ts.enumerated() {
            let x = try #require(ref["dpm.\(steps).sample\(i)"]).doubles()
            let v = try #require(ref["dpm.\(steps).model_output\(i)"]).doubles()
            let z = try #require(ref["dpm.\(steps).variance_noise\(i)"]).doubles()
            let r = s.stepDouble(modelOutput: v, timestep: t, sample: x, steps: steps, noise: z)
            #expect(Self.maxErr(r.predOriginal, try #require(ref["dpm.\(steps).pred_original\(i)"]).doubles()) < 1e-10)
            let want = try #require(ref["dpm.\(steps).sample\(i + 1)"]).doubles()
            #expect(Self.maxErr(r.prevSample, want) < 1e-10, "step \(i) t=\(t)")
        }
    }

    /// The scheduler's own noise maths against diffusers' `add_noise` and `get_velocity`, and the x0 / ε it
    /// reads off a v-prediction inverting them (Float64 and Float32).
    @Test func addNoiseAndVelocity() throws {
        let ref = try Fixtures.file("scheduler-cogvideox-2b/reference.safetensors")
        let s = CogVideoXDDIMScheduler()
        let x0 = try #require(ref["add_noise.x0"]).doubles(), eps = try #require(ref["add_noise.noise"]).doubles()
        let ts = try #require(ref["add_noise.t"]).int64s().map(Int.init)
        let noisy = s.addNoise(original: x0, noise: eps, timesteps: ts)
        let vel = s.velocity(original: x0, noise: eps, timesteps: ts)
        #expect(Self.maxErr(noisy, try #require(ref["add_noise.out"]).doubles()) < 1e-10)
        #expect(Self.maxErr(vel, try #require(ref["velocity.out"]).doubles()) < 1e-10)
        // v and x_t determine x0 and ε again.
        #expect(Self.maxErr(s.predictOriginal(v: vel, sample: noisy, timesteps: ts), x0) < 1e-10)
        #expect(Self.maxErr(s.predictEpsilon(v: vel, sample: noisy, timesteps: ts), eps) < 1e-10)
        let f = s.predictOriginal(v: vel.map(Float.init), sample: noisy.map(Float.init), timesteps: ts)
        #expect(Self.maxErr(f.map(Double.init), x0) < 1e-5)
        // One timestep for the whole array is the same as repeating it per sample; t < 0 is the clean end.
        #expect(s.addNoise(original: x0, noise: eps, timestep: ts[0]) == s.addNoise(original: x0, noise: eps, timesteps: [Int](repeating: ts[0], count: ts.count)))
        #expect(s.addNoise(original: x0, noise: eps, timestep: -1) == x0)
    }

    /// A custom grid set on the scheduler steps to the next listed timestep, and to x0 after the last.
    @Test func customGridSteps() throws {
        var s = CogVideoXDDIMScheduler()
        s.setTimesteps([999, 856, 665, 399])
        #expect(s.timesteps(steps: 4) == [999, 856, 665, 399])
        #expect(s.prevTimestep(856, steps: 4) == 665 && s.prevTimestep(399, steps: 4) == -1)
        let x = [Float](repeating: 0.5, count: 8), v = [Float](repeating: -0.25, count: 8)
        let last = s.step(modelOutput: v, timestep: 399, sample: x, steps: 4, noise: nil)
        #expect(last.prevSample == last.predOriginal, "the last step of a grid returns x0")
        let mid = s.step(modelOutput: v, timestep: 856, sample: x, steps: 4, noise: nil)
        let x0 = s.predictOriginal(v: v, sample: x, timestep: 856), e = s.predictEpsilon(v: v, sample: x, timestep: 856)
        let want = s.addNoise(original: x0, noise: e, timestep: 665)
        #expect(Self.maxErr(mid.prevSample.map(Double.init), want.map(Double.init)) < 1e-6, "DDIM η=0 re-noises x0 with its own ε to the next grid point")
        s.setTimesteps(nil)
        #expect(s.prevTimestep(856, steps: 4) == 606)
    }

    /// The pipeline loop: CFG 6, batch [uncond, cond], DDIM 8 and 4 steps, tiny sincos model.
    @Test(arguments: [8, 4]) func cfgSamplingLoop(steps: Int) throws {
        let ref = try Fixtures.file("sampling-cfg-ddim/reference.safetensors")
        let model = try CogVideoXTransformer.load(directory: Fixtures.url("cogvideox-tiny-sincos"))
        let lat = try #require(ref["latents0"])
        let shape = VideoShape(batch: 1, frames: lat.shape[1], channels: lat.shape[2], height: lat.shape[3], width: lat.shape[4])
        let prompt = try #require(ref["prompt_embeds"]), neg = try #require(ref["negative_prompt_embeds"])
        var sched = CogVideoXDDIMScheduler()
        var rng = RNG(seed: 0)
        let out = try Sampler(steps: steps, guidance: 6).run(model: model, scheduler: &sched, latents: lat.floats(), shape: shape,
                                                            prompt: prompt.floats(), negative: neg.floats(),
                                                            textLength: prompt.shape[1], rng: &rng)
        let c = compareTensors(out, try #require(ref["latents.steps\(steps)"]).floats())
        #expect(c.relErr <= 1e-4, "rel_err \(c.relErr)")
    }
}
