#!/usr/bin/env python3
"""Times single-clip `tdm-video sample` runs of two or more binaries, alternating, and prints medians.

Usage: scripts/time_single_clip.py --rounds 21 NAME=BINARY [NAME=BINARY ...] [-- extra sample arguments]

Each round runs every binary once, in the given order (rotated each round, so neither always runs first),
with the student and the issue-21 prompt, writing to a temporary folder. Per run it records the wall
time and the CPU time (user + sys, from wait4's rusage) of the process. It prints the 1-minute load
average before and after, per-binary medians, min and max, and checks that every binary wrote the same
MP4 bytes as the first or, where the container differs, the same decoded frames (ffmpeg's framemd5:
timestamps, durations and an MD5 of every decoded picture).
"""
import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

PROMPT = "a red circle moving left, plain background"


def run_once(binary, model, out, extra):
    cmd = [binary, "sample", "--model", model, "--prompt", PROMPT, "--out", out, "--quiet"] + extra
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{binary} failed: {err}")
    return wall * 1e3, (usage.ru_utime + usage.ru_stime) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--model", default="models/student")
    ap.add_argument("binaries", nargs="+", help="NAME=PATH")
    args, extra = ap.parse_known_args()
    if extra and extra[0] == "--":
        extra = extra[1:]
    named = [b.split("=", 1) for b in args.binaries]
    tmp = tempfile.mkdtemp(prefix="sc-")
    walls = {n: [] for n, _ in named}
    cpus = {n: [] for n, _ in named}
    digests = {}
    frames = {}
    print(f"load before: {os.getloadavg()[0]:.2f}")
    for r in range(args.rounds):
        order = named[r % len(named):] + named[:r % len(named)]
        for name, path in order:
            out = os.path.join(tmp, f"{name}.mp4")
            w, c = run_once(path, args.model, out, extra)
            walls[name].append(w)
            cpus[name].append(c)
            if name not in digests:
                with open(out, "rb") as f:
                    digests[name] = hashlib.sha256(f.read()).hexdigest()
                frames[name] = subprocess.run(["ffmpeg", "-v", "error", "-i", out, "-f", "framemd5", "-"],
                                              capture_output=True, text=True, check=True).stdout
                frames[name] = [l for l in frames[name].splitlines() if not l.startswith("#")]
    print(f"load after: {os.getloadavg()[0]:.2f}")
    for name, _ in named:
        w, c = walls[name], cpus[name]
        under = sum(1 for x in w if x < 100)
        print(f"{name}: wall median {statistics.median(w):.1f} ms (min {min(w):.1f}, max {max(w):.1f}, "
              f"{under}/{len(w)} under 100 ms); CPU median {statistics.median(c):.1f} ms "
              f"(min {min(c):.1f}, max {max(c):.1f})")
    first = named[0][0]
    for name, _ in named[1:]:
        same = digests[name] == digests[first]
        same_frames = frames[name] == frames[first]
        print(f"MP4 of {name} {'byte-identical to' if same else 'not byte-identical to'} {first}'s; "
              f"decoded frames {'identical' if same_frames else 'DIFFER'} ({len(frames[name])} frames)")


if __name__ == "__main__":
    main()
