"""The keyword API: the same images as the command line, renders of parts, data as
arrays, changed copies, progress and cancellation, writers, errors."""
import os
import signal
import threading
import time

import numpy as np
import pytest

from conftest import nanobragg, read_float

CUBIC = dict(cell=(100, 100, 100, 90, 90, 90), default_F=100, N=5, lambda_A=6.2, distance_mm=100)


def same(a, b):
    return a.shape == b.shape and np.array_equal(a.view(np.uint32), b.view(np.uint32))


def from_flags_image(words):
    return nanobragg.Experiment.from_flags(words).simulate()


def read_hkl(path):
    rows = np.loadtxt(path, ndmin=2)
    return (rows[:, 0].astype(int), rows[:, 1].astype(int), rows[:, 2].astype(int)), rows[:, 3]


@pytest.mark.parametrize("name, params", [
    ("basic_cubic", dict(CUBIC, detpixels=128)),
    ("conv_xds", dict(CUBIC, detpixels=128, convention="xds")),
    ("triclinic_misset", dict(cell=(70, 80, 90, 75, 85, 95), misset_deg=(10, 20, 30), default_F=100, N=5,
                              lambda_A=1, distance_mm=100, detpixels=128)),
    ("mosaic", dict(cell=np.array([70, 80, 90, 75, 85, 95.0]), default_F=100, N=5, lambda_A=1, distance_mm=100,
                    detpixels=128, mosaic_spread_deg=1, mosaic_domains=10, mosaic_seed=42)),
    ("rect_detector", dict(CUBIC, fpixels=96, spixels=64)),
    ("roi", dict(CUBIC, detpixels=96, roi=(10, 60, 20, 40))),
])
def test_keywords_equal_flags(name, params, incase):
    words, d = incase(name)
    image = nanobragg.Experiment(**params).simulate()
    assert same(image, read_float(d / "float.bin", image.shape))


def test_structure_factors_as_arrays_file_and_grid(incase):
    words, d = incase("hkl_sparse")
    expected = read_float(d / "float.bin", (64, 64))
    base = dict(CUBIC, detpixels=64, interpolate="off", default_F=10)
    hkl, F = read_hkl(d / "sparse.hkl")
    assert same(nanobragg.Experiment(**base, hkl_path=str(d / "sparse.hkl")).simulate(), expected)
    assert same(nanobragg.Experiment(**base, hkl=hkl, F=F).simulate(), expected)
    assert same(nanobragg.Experiment(**base, hkl=np.array(hkl).T, F=list(F)).simulate(), expected)
    lo = [int(min(x)) for x in hkl]
    grid = np.full([int(max(x)) - int(min(x)) + 1 for x in hkl], 10.0)
    grid[tuple(np.array(x) - m for x, m in zip(hkl, lo))] = F
    assert same(nanobragg.Experiment(**base, F_grid=grid, hkl_origin=lo).simulate(), expected)


def test_orientation_matrix_and_sources_and_mask(incase, tmp_path):
    words, d = incase("mat_hkl")
    expected = read_float(d / "float.bin", (128, 128))
    A = np.loadtxt(d / "A.mat")[:3]
    exp = nanobragg.Experiment(mosflm_matrix=A, hkl_path="P1.hkl", N=8, lambda_A=1, distance_mm=120,
                               detpixels=128)
    assert same(exp.simulate(), expected)

    src = np.loadtxt(nanobragg_case("sourcefile") / "sources.txt", ndmin=2)
    flags = nanobragg.Experiment.from_flags(
        (nanobragg_case("sourcefile") / "args").read_text().replace("sources.txt",
                                                                    str(nanobragg_case("sourcefile") / "sources.txt")))
    kw = nanobragg.Experiment(cell=(100, 100, 100, 90, 90, 90), default_F=100, N=5, lambda_A=1, distance_mm=100,
                              detpixels=96, sources_xyz=src[:, :3], sources_weight=src[:, 3],
                              sources_lambda_A=src[:, 4] * 1e10)
    assert kw.info["sources"] == flags.info["sources"] == len(src)
    np.testing.assert_allclose(kw.simulate(), flags.simulate(), rtol=1e-6, atol=1e-12)

    mask = np.ones((64, 64), dtype=bool)
    mask[10:20, 30:50] = False
    exp = nanobragg.Experiment(**CUBIC, detpixels=64, mask=mask)
    image = exp.simulate()
    full = nanobragg.Experiment(**CUBIC, detpixels=64).simulate()
    assert np.all(image[~mask] == 0) and same(image[mask], full[mask])


def nanobragg_case(name):
    from conftest import CASES
    return CASES / name


@pytest.mark.parametrize("params", [dict(CUBIC, detpixels=48),
                                    dict(cell=60, hkl=([0, 1, 1], [0, 0, 1], [0, 2, 1]), F=[50, 20, 30], N=2,
                                         lambda_A=3, distance_mm=80, detpixels=40),
                                    dict(CUBIC, detpixels=40, phi_deg=0, osc_deg=10, phisteps=3, dmin_A=30)])
def test_region_and_pixels_equal_the_whole_image(params):
    exp = nanobragg.Experiment(**params)
    full = exp.simulate()
    s, f = full.shape
    assert same(exp.simulate(region=(0, 0, f, s)), full)
    assert same(exp.simulate(region=(3, 5, 17, 9)), full[5:14, 3:20])
    out = np.full((2, 7), -1, dtype=np.float32)
    assert exp.simulate(region=(f - 7, s - 2, 7, 2), out=out) is out and same(out, full[s - 2:, f - 7:])
    rng = np.random.default_rng(5)
    idx = rng.integers(0, f * s, size=300)
    assert same(exp.simulate(pixels=idx), full.reshape(-1)[idx])
    sf = (rng.integers(0, s, size=(4, 5)), rng.integers(0, f, size=(4, 5)))
    assert same(exp.simulate(pixels=sf), full[sf])
    assert exp.simulate(pixels=[]).shape == (0,)
    fresh = nanobragg.Experiment(**params)   # parts first, then the whole image
    assert same(fresh.simulate(pixels=idx), full.reshape(-1)[idx])
    out = np.empty_like(full)
    assert fresh.simulate(out=out, threads=1) is out and same(out, full)


def test_info_params_and_with_params(tmp_path):
    hkl = tmp_path / "F.hkl"
    hkl.write_text("0 0 0 100\n1 0 0 40\n0 1 1 55\n2 1 0 30\n")
    exp = nanobragg.Experiment(cell=(60, 60, 60, 90, 90, 90), hkl_path=str(hkl), default_F=5, N=3, lambda_A=2,
                               distance_mm=90, detpixels=48, interpolate="off")
    info = exp.info
    assert info["fpixels"] == info["spixels"] == 48 and info["distance_mm"] == pytest.approx(90)
    assert info["lambda_A"] == pytest.approx(2) and info["sources"] == 1 and info["steps"] >= 1
    assert exp.params["N"] == 3 and exp.shape == (48, 48)
    assert exp.get("distance_mm") == 90 and exp.get("Xbeam_mm") is None and exp.get("convention") == "mosflm"
    image = exp.simulate()
    hkl.unlink()   # the changed copies must not read it again
    moved = exp.with_params(distance_mm=120, Xbeam_mm=2.0)
    assert moved.params["distance_mm"] == 120 and exp.params["distance_mm"] == 90
    hkl.write_text("0 0 0 100\n1 0 0 40\n0 1 1 55\n2 1 0 30\n")
    fresh = nanobragg.Experiment(cell=(60, 60, 60, 90, 90, 90), hkl_path=str(hkl), default_F=5, N=3, lambda_A=2,
                                 distance_mm=120, detpixels=48, interpolate="off", Xbeam_mm=2.0)
    assert same(moved.simulate(), fresh.simulate())
    assert same(exp.simulate(), image)


def test_progress_cancel_and_exceptions():
    exp = nanobragg.Experiment(**CUBIC, detpixels=64)
    seen = []
    exp.simulate(progress=seen.append)
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(nanobragg.CancelledError):
        exp.simulate(progress=lambda f: True)
    with pytest.raises(nanobragg.CancelledError):
        exp.simulate(region=(0, 0, 8, 8), progress=lambda f: True)

    class Boom(Exception):
        pass

    def boom(f):
        raise Boom("from the callback")
    with pytest.raises(Boom):
        exp.simulate(progress=boom)
    with pytest.raises(Boom):
        exp.simulate(pixels=[1, 2, 3], progress=boom)
    with pytest.raises(TypeError):
        exp.simulate(progress=42)
    assert np.array_equal(exp.simulate(), exp.simulate(progress=lambda f: None))


def test_ctrl_c_cancels_the_render():
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    exp = nanobragg.Experiment(cell=(70, 80, 90, 75, 85, 95), default_F=100, N=5, lambda_A=1, detpixels=256,
                               mosaic_spread_deg=1, mosaic_domains=2000, threads=1)   # about 3 s
    timer = threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            exp.simulate()
    finally:
        timer.cancel()
    assert time.monotonic() - t0 < 2.0   # cancelled, not finished


def test_writers(tmp_path):
    exp = nanobragg.Experiment(**CUBIC, detpixels=32)
    image = exp.simulate()
    nanobragg.write_float(tmp_path / "f.bin", image)
    assert (tmp_path / "f.bin").read_bytes() == image.astype("<f4").tobytes()
    used = nanobragg.write_smv(str(tmp_path / "i.img"), image, exp)
    assert used == pytest.approx(55000 / image.max())
    data = (tmp_path / "i.img").read_bytes()
    assert data.startswith(b"{\nHEADER_BYTES=") and len(data) == 512 + 2 * 32 * 32
    noise = nanobragg.add_noise(image, seed=3)
    assert noise.dtype == np.uint16 and noise.shape == image.shape
    assert np.array_equal(noise, nanobragg.add_noise(image, exp, seed=3))
    counts, photons, overloads = nanobragg.add_noise(image, seed=3, full_output=True)
    assert np.array_equal(counts, noise) and photons >= 0 and overloads == 0
    nanobragg.write_pgm(tmp_path / "p.pgm", image, exp)
    assert (tmp_path / "p.pgm").read_bytes().startswith(b"P5\n")
    with pytest.raises(OSError):
        nanobragg.write_float(tmp_path / "missing" / "f.bin", image)
    with pytest.raises(OSError):
        nanobragg.write_smv(tmp_path, image, exp)
    with pytest.raises(ValueError):
        nanobragg.write_smv(tmp_path / "x.img", image[:5], exp)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin", "i.img", "p.pgm"]


@pytest.mark.parametrize("params, exc, fragment", [
    (dict(distance_mm=-1), ValueError, "distance_mm"),
    (dict(distance_mm=float("nan")), ValueError, "distance_mm"),
    (dict(distance_mm="100"), TypeError, "distance_mm"),
    (dict(N=2.5), ValueError, "N"),
    (dict(cell=(100, 100)), None, None),
    (dict(cell="abc"), TypeError, "cell"),
    (dict(cell=(100, "x", 3)), ValueError, "cell"),
    (dict(cell=(100, -1, 3)), ValueError, "cell"),
    (dict(umatrix=np.eye(4)), ValueError, "umatrix"),
    (dict(convention="nope"), ValueError, "convention"),
    (dict(convention=3), TypeError, "convention"),
    (dict(hkl_path=5), TypeError, "hkl_path"),
    (dict(distance=100), ValueError, "distance_mm"),
    (dict(lamda_A=1), ValueError, "lambda_A"),
    (dict(hkl=([0], [0], [0.5]), F=[1]), ValueError, "l"),
    (dict(hkl=([0], [0]), F=[1]), ValueError, "hkl"),
    (dict(hkl=([0, 1], [0, 1], [0, 1]), F=[1]), ValueError, "F"),
    (dict(F=[1]), ValueError, "hkl"),
    (dict(F_grid=np.ones((2, 2))), ValueError, "F_grid"),
    (dict(sources_xyz=np.ones((3, 2))), ValueError, "sources_xyz"),
    (dict(mask=np.ones((5, 5))), ValueError, "mask"),
    (dict(mask=np.array([["a"]])), TypeError, "mask"),
    (dict(mask=np.ones(5, dtype=bool)), ValueError, "mask"),
])
def test_bad_values_raise_naming_the_parameter(params, exc, fragment):
    base = dict(cell=(50, 50, 50, 90, 90, 90), default_F=1, N=2, detpixels=16)
    base.update(params)
    if exc is None:
        nanobragg.Experiment(**base)     # accepted: b = c = a, angles 90
        return
    with pytest.raises(exc) as e:
        nanobragg.Experiment(**base)
    assert fragment in str(e.value)


def test_bad_render_arguments():
    exp = nanobragg.Experiment(cell=50, default_F=1, N=2, detpixels=16)
    for kwargs, exc in [(dict(region=(0, 0, 17, 1)), ValueError), (dict(region=(0, 0, 0, 1)), ValueError),
                        (dict(region=(0, 0, 1)), ValueError), (dict(region=(0.5, 0, 1, 1)), TypeError),
                        (dict(pixels=[256]), ValueError), (dict(pixels=[-1]), ValueError),
                        (dict(pixels=[0.5]), TypeError), (dict(pixels=([0], [16])), ValueError),
                        (dict(out=np.empty((16, 16))), ValueError),
                        (dict(out=np.empty((16, 16), dtype=np.float32)[:, ::-1]), ValueError),
                        (dict(threads=-1), ValueError), (dict(region=(0, 0, 1, 1), pixels=[0]), ValueError)]:
        with pytest.raises(exc):
            exp.simulate(**kwargs)


def test_library_warnings_become_python_warnings():
    with pytest.warns(nanobragg.NanobraggWarning, match="recommend -oversample"):
        exp = nanobragg.Experiment(cell=(100, 100, 100, 90, 90, 90), default_F=1, detpixels=8, N=1,
                                   xtalsize_mm=0.5, oversample=1)
    assert any("clipping sample" in line for line in exp.log)


def test_device():
    """device= selects where images are rendered: the GPU kernel's code run on the CPU
    (emulate) gives the CPU's image bit for bit (regions too); a device that cannot be had
    raises ValueError naming -device; a word that is no device, naming the parameter."""
    params = dict(CUBIC, detpixels=40, mosaic_spread_deg=0.5, mosaic_domains=3, oversample=2)
    cpu = nanobragg.Experiment(**params)
    emu = nanobragg.Experiment(device="emulate", **params)
    assert cpu.get("device") == "cpu" and emu.get("device") == "emulate"
    assert cpu.info["device"] == "cpu" and emu.info["device"].startswith("emulate")
    image = cpu.simulate()
    assert image.max() > 0 and same(emu.simulate(), image)
    assert same(emu.simulate(region=(3, 5, 17, 9)), image[5:14, 3:20])
    assert same(cpu.with_params(device="emulate", precision="single").simulate(),
                cpu.with_params(precision="single").simulate())
    with pytest.raises(ValueError) as e:
        nanobragg.Experiment(device="cuda:1023", **params)
    assert "-device cpu" in str(e.value)
    with pytest.raises(ValueError) as e:
        nanobragg.Experiment(device="opencl", **params)
    assert "device" in str(e.value) and "cuda:N" in str(e.value)
