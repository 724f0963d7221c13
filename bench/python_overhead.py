"""The Python package's overhead against the program, and its GIL release.

    PYTHONPATH=build/python python3 bench/python_overhead.py [build/nanobragg] [--runs 5]

1. W3_large (bench/workloads.txt): the program (writing only -floatfile) against Python
   (from_flags, simulate, write_float), run alternately, median of --runs each.
2. W1_sources with threads=1: two experiments simulated one after the other against two
   Python threads at once; the ratio is the speed-up the released GIL gives (2 on 2 free cores).
"""
import argparse
import os
import shlex
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nanobragg

ROOT = Path(__file__).resolve().parents[1]


def workload(name):
    for line in (ROOT / "bench" / "workloads.txt").read_text().splitlines():
        if line.startswith(name + " "):
            return shlex.split(line[len(name):])
    raise KeyError(name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("program", nargs="?", default=str(ROOT / "build" / "nanobragg"))
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    words = workload("W3_large")
    prog, py = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run([args.program] + words + ["-floatfile", "prog.bin", "-nonoise", "-nopgm",
                                                     "-intfile", "/dev/null", "-noprogress"],
                           cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            prog.append(time.perf_counter() - t)
            t = time.perf_counter()
            exp = nanobragg.Experiment.from_flags(words)
            nanobragg.write_float(os.path.join(d, "py.bin"), exp.simulate())
            py.append(time.perf_counter() - t)
        same = Path(d, "prog.bin").read_bytes() == Path(d, "py.bin").read_bytes()
    mp, my = statistics.median(prog), statistics.median(py)
    print(f"W3_large: program {mp:.3f} s, Python {my:.3f} s (median of {args.runs}): "
          f"Python/program {my / mp:.3f}; float images identical: {same}")

    w1 = workload("W1_sources")
    a = nanobragg.Experiment.from_flags(w1 + ["-cell", "100", "100", "100", "90", "90", "90"])
    b = a.with_params(distance_mm=110)
    serial, parallel = [], []
    for _ in range(args.runs):
        t = time.perf_counter()
        a.simulate(threads=1)
        b.simulate(threads=1)
        serial.append(time.perf_counter() - t)
        threads = [threading.Thread(target=e.simulate, kwargs={"threads": 1}) for e in (a, b)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        parallel.append(time.perf_counter() - t)
    ms, mpar = statistics.median(serial), statistics.median(parallel)
    print(f"W1_sources x2, threads=1: one after the other {ms:.3f} s, two Python threads {mpar:.3f} s "
          f"(median of {args.runs}): speed-up {ms / mpar:.2f}")


if __name__ == "__main__":
    main()
