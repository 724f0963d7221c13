"""Random bad input never crashes the interpreter nor leaks; threads render in parallel."""
import gc
import random
import resource
import sys
import threading
import tracemalloc

import numpy as np
import pytest

from conftest import nanobragg

BASE = dict(cell=(50, 50, 50, 90, 90, 90), default_F=10, N=2, lambda_A=1, distance_mm=50, detpixels=12)
# what the calls may raise (ZeroDivisionError: a progress callback's own, passed on)
OK = (TypeError, ValueError, OSError, MemoryError, OverflowError, ZeroDivisionError, nanobragg.CancelledError)


class Weird:
    def __float__(self):
        raise RuntimeError("no float")

    def __len__(self):
        return 3

    def __getitem__(self, i):
        raise IndexError


BAD_VALUES = [None, "", "abc", b"x", "1e400", float("nan"), float("inf"), -float("inf"), -1, 0, 1e308,
              -1e308, 2 ** 80, -(2 ** 80), 1.5, True, [], [1], [1, 2], [[1, 2], [3]], [None, 1], ["a", "b", "c"],
              (1, 2, 3, 4, 5, 6, 7), np.zeros((3, 3)), np.zeros((4, 4)), np.zeros((2, 2, 2)), np.array([np.nan] * 3),
              np.array(["x"]), np.array([1 + 2j]), {"a": 1}, {1, 2}, object(), Weird(), complex(1, 1), "\0abc",
              "mosflm\0", np.float32(3), np.int64(7), np.array(5), bytearray(b"12"), range(3), slice(1)]


def bad_call(rng):
    """One random call that is probably invalid."""
    kind = rng.random()
    if kind < 0.55:
        params = dict(BASE)
        name = rng.choice(list(nanobragg.PARAMS) + list(nanobragg._DATA_KEYWORDS) + list(nanobragg._CELL_ELEMENTS)
                          + ["nonsense", "N ", ""])
        params[name] = rng.choice(BAD_VALUES)
        if name in ("hkl", "F") and rng.random() < 0.7:
            params.update(hkl=rng.choice(BAD_VALUES + [([0], [0], [0])]), F=rng.choice(BAD_VALUES + [[1.0]]))
        nanobragg.Experiment(**params).simulate()
    elif kind < 0.8:
        exp = EXP
        arg = rng.choice(["region", "pixels", "out", "threads", "progress"])
        value = rng.choice(BAD_VALUES + [(0, 0, 99, 1), (-1, 0, 1, 1), (0, 0, 1, 2 ** 40), [144], [-5],
                                         ([0], [12]), np.zeros((12, 12), np.float64), lambda f: 1 / 0])
        exp.simulate(**{arg: value})
    elif kind < 0.85:
        derivative_call(rng)
    elif kind < 0.9:
        words = ["-cell", "50", "-default_F", "1", "-detpixels", "8"]
        words += rng.choice([["-distance"], ["-N", "x"], ["-lambda", "nan"], ["-roi", "1", "2"], ["-mat"],
                             ["-hkl", "/nonexistent/x.hkl"], ["--bogus"], ["-misset", "1", "2"], ["\0"],
                             ["-cell", "inf"], ["-detpixels", "0"], ["-pivot", "middle"], ["-img", "/dev/null"]])
        nanobragg.Experiment.from_flags(words)
    else:
        fn = rng.choice([nanobragg.write_float, nanobragg.add_noise, nanobragg.to_counts, nanobragg.to_pgm])
        arg = rng.choice(BAD_VALUES)
        if fn is nanobragg.write_float:
            fn("/nonexistent/dir/x.bin", arg)
        else:
            fn(arg)


# (Weird's own exception from __float__ passes through float(), as Python's functions let it)
NUMBERLESS = [v for v in BAD_VALUES if not isinstance(v, Weird)]


def derivative_call(rng):
    """A random call of the derivatives or refinement, probably invalid."""
    good = {"params": ["Na", "distance_mm"], "observed": np.ones((12, 12)), "loss": "lsq"}
    names = ["params", "observed", "loss", "weights", "mask", "region", "pixels", "bounds", "method",
             "pixel_fraction", "seed", "max_iterations", "tolerance", "F_grad", "progress"]
    args = dict(good)
    for name in rng.sample(names, rng.randint(1, 2)):
        args[name] = rng.choice(NUMBERLESS + [["Na", "Na"], ["bogus"], ["cell_a_A"], np.zeros((12, 12)),
                                              np.full((12, 12), np.nan), np.zeros((12, 12), bool), {"Na": (1, 2)},
                                              {"Na": (None, "x")}, ["Na", 1], (0, 0, 3, 3), [143], [144],
                                              "poisson", "lbfgs", lambda f: 1 / 0])
    fn = rng.choice(["jacobian", "loss_gradient", "refine"])
    if fn == "jacobian":
        EXP.jacobian(args["params"], **{k: args[k] for k in ("region", "pixels", "progress") if k in args})
    elif fn == "loss_gradient":
        EXP.loss_gradient(args["observed"], args["params"], **{k: args[k] for k in (
            "loss", "weights", "mask", "F_grad", "progress") if k in args})
    else:
        nanobragg.refine(EXP, args["observed"], args["params"], max_iterations=3, **{k: args[k] for k in (
            "loss", "weights", "mask", "bounds", "method", "pixel_fraction", "seed", "tolerance", "progress")
            if k in args})


EXP = nanobragg.Experiment(**BASE)


def resident_kib():
    """Resident memory now (Linux), else the peak so far."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * (resource.getpagesize() // 1024)
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_bad_calls(seed, n):
    rng = random.Random(seed)
    accepted = 0
    for _ in range(n):
        try:
            bad_call(rng)
            accepted += 1
        except OK:
            pass
    return accepted


def test_random_bad_calls_raise_and_do_not_leak():
    run_bad_calls(1, 300)                       # warm up caches and numpy
    gc.collect()
    rss0 = resident_kib()
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    accepted = run_bad_calls(2, 1000)
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    rss1 = resident_kib()
    assert accepted < 1000
    assert grown < 512 * 1024, f"Python allocations grew by {grown} bytes"
    assert rss1 - rss0 < 16 * 1024, f"resident memory grew by {rss1 - rss0} KiB"


def test_no_reference_leaks():
    hkl = (np.arange(5), np.zeros(5, int), np.zeros(5, int))
    F = np.linspace(1, 5, 5)
    mask = np.ones((12, 12), dtype=np.uint16)
    out = np.empty((12, 12), dtype=np.float32)
    idx = np.arange(10)
    progress = lambda f: None  # noqa: E731
    observed = np.ones((12, 12))
    objs = [hkl[0], F, mask, out, idx, progress, observed]
    before = [sys.getrefcount(o) for o in objs]
    for i in range(1000):
        exp = nanobragg.Experiment(**dict(BASE, detpixels=12), hkl=hkl, F=F, mask=mask)
        exp.simulate(out=out, progress=progress)
        exp.simulate(pixels=idx, progress=progress)
        if i % 10 == 0:
            exp.jacobian(["Na", "distance_mm"], pixels=idx, progress=progress)
            exp.loss_gradient(observed, ["Na"], mask=mask, F_grad=True, model=True, progress=progress)
            try:
                exp.loss_gradient(observed[:5], ["Na"])
            except ValueError:
                pass
        if i % 50 == 0:
            nanobragg.refine(exp, observed, ["Na"], loss="lsq", max_iterations=2, progress=progress)
        try:
            nanobragg.Experiment(**BASE, hkl=hkl, F=F, mask=mask[:5])
        except ValueError:
            pass
    del exp
    gc.collect()
    assert [sys.getrefcount(o) for o in objs] == before


def test_two_threads_render_as_one():
    a = nanobragg.Experiment(cell=(70, 80, 90, 75, 85, 95), default_F=100, N=5, lambda_A=1, detpixels=96,
                             mosaic_spread_deg=1, mosaic_domains=20, threads=1)
    b = nanobragg.Experiment(cell=(100, 100, 100, 90, 90, 90), default_F=100, N=5, lambda_A=6.2, detpixels=96,
                             divergence_mrad=1, divsteps=5, threads=1)
    alone = [a.simulate(), b.simulate(), a.simulate(region=(10, 20, 30, 40))]
    results = {}

    def work(key, fn):
        results[key] = [fn() for _ in range(3)]
    threads = [threading.Thread(target=work, args=("a", a.simulate)),
               threading.Thread(target=work, args=("b", b.simulate)),
               threading.Thread(target=work, args=("r", lambda: a.simulate(region=(10, 20, 30, 40))))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for key, expected in zip("abr", alone):
        assert len(results[key]) == 3
        for image in results[key]:
            assert np.array_equal(image, expected)
