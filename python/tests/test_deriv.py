"""Derivatives and refinement: the Jacobian against finite differences of the image, the
loss's gradient against the Jacobian, refinement recovering parameters, the values of
differentiable parameters, and the errors."""
import subprocess
import sys

import numpy as np
import pytest

from conftest import nanobragg

pytestmark = pytest.mark.filterwarnings("ignore::nanobragg.NanobraggWarning")   # (coarse sub-pixels: fast)

# A small still: an orthorhombic crystal, a few reflections on a 40 x 40 detector.
SMALL = dict(cell=(50, 60, 70, 90, 90, 90), misset_deg=(10, 20, 30), default_F=100, N=6, lambda_A=1.0,
             distance_mm=50, detpixels=40, pixel_mm=0.4, fluence=1e26, water_um=0.02)


@pytest.fixture(scope="module")
def exp():
    return nanobragg.Experiment(**SMALL, oversample=1)


def double_image(exp):
    image, J = exp.jacobian([])
    assert J.shape == (0,) + exp.shape
    return image


def test_deriv_params_and_values(exp):
    names = nanobragg.deriv_params()
    assert {"Na", "distance_mm", "cell_a_A", "cell_gamma_deg", "crystal_rotx_deg", "fluence", "Xbeam_mm"} <= set(names)
    assert nanobragg.deriv_params() is not names
    assert exp.get("cell_b_A") == 60.0 and exp.value("cell_b_A") == 60.0
    assert exp.get("Xbeam_mm") is None                     # derived ...
    assert exp.value("Xbeam_mm") == pytest.approx(exp.info["Xbeam_mm"])   # ... as the experiment uses it
    assert exp.value("distance_mm") == 50.0
    other = exp.with_params(cell_b_A=61, crystal_rotx_deg=0.5)
    assert other.info["cell_A"] == pytest.approx((50, 61, 70))
    assert other.value("crystal_rotx_deg") == 0.5 and other.params["cell_b_A"] == 61
    assert exp.info["cell_A"] == pytest.approx((50, 60, 70))
    made = nanobragg.Experiment(**dict(SMALL, cell_gamma_deg=95))
    assert made.info["cell_deg"] == pytest.approx((90, 90, 95))
    with pytest.raises(ValueError, match="did you mean cell_a_A"):
        nanobragg.Experiment(**SMALL, cell_a_AA=3)
    with pytest.raises(ValueError, match="not a differentiable parameter.*did you mean distance_mm"):
        exp.value("distance_mn")
    with pytest.raises(ValueError, match="cell"):
        exp.with_params(cell_a_A=-3)


def test_jacobian_matches_finite_differences(exp):
    steps = {"distance_mm": 1e-3, "crystal_rotx_deg": 1e-4, "cell_b_A": 1e-4, "Na": 1e-4}
    names = list(steps)
    image, J = exp.jacobian(names)
    assert image.dtype == J.dtype == np.float64
    assert image.shape == exp.shape and J.shape == (len(names),) + exp.shape
    np.testing.assert_allclose(image.astype(np.float32), exp.simulate(), rtol=1e-6, atol=1e-6 * image.max())
    for p, name in enumerate(names):
        v0, h = exp.value(name), steps[name]
        up = double_image(exp.with_params(**{name: v0 + h}))
        down = double_image(exp.with_params(**{name: v0 - h}))
        fd = (up - down) / (2 * h)
        scale = np.abs(fd).max()
        assert scale > 0
        np.testing.assert_allclose(J[p], fd, rtol=0, atol=1e-4 * scale, err_msg=name)


def test_jacobian_of_regions_and_pixels(exp):
    names = ["distance_mm", "Nb"]
    image, J = exp.jacobian(names)
    part, Jp = exp.jacobian(names, region=(5, 7, 20, 10))
    assert part.shape == (10, 20) and Jp.shape == (2, 10, 20)
    np.testing.assert_allclose(part, image[7:17, 5:25], rtol=1e-12, atol=0)
    np.testing.assert_allclose(Jp, J[:, 7:17, 5:25], rtol=1e-9, atol=1e-12 * np.abs(J).max())
    index = np.array([0, 41, 1599, 41])
    values, Jv = exp.jacobian(names, pixels=index)
    assert values.shape == (4,) and Jv.shape == (2, 4)
    np.testing.assert_allclose(values, image.reshape(-1)[index], rtol=1e-12)
    np.testing.assert_allclose(Jv, J.reshape(2, -1)[:, index], rtol=1e-9, atol=1e-12 * np.abs(J).max())
    s, f = np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]])
    values, Jv = exp.jacobian("Nb", pixels=(s, f))
    assert values.shape == (2, 2) and Jv.shape == (1, 2, 2)
    np.testing.assert_allclose(Jv[0], J[1][s, f], rtol=1e-9, atol=1e-12 * np.abs(J).max())
    values, Jv = exp.jacobian(names, pixels=np.zeros(0, dtype=int))
    assert values.shape == (0,) and Jv.shape == (2, 0)


def test_loss_gradient_is_the_jacobian_contracted(exp):
    names = ["distance_mm", "crystal_roty_deg", "cell_a_A", "Nc", "fluence"]
    image, J = exp.jacobian(names)
    rng = np.random.default_rng(5)
    observed = rng.poisson(image * 1.1 + 0.5).astype(np.float64)
    mask = rng.random(exp.shape) > 0.2
    weights = rng.uniform(0.5, 2.0, exp.shape)
    m = image
    o = observed.astype(np.float32).astype(np.float64)
    w = weights.astype(np.float32).astype(np.float64) * mask

    r = exp.loss_gradient(observed, names, loss="lsq", weights=weights, mask=mask, model=True)
    assert r.loss == pytest.approx(np.sum(w * (m - o) ** 2), rel=1e-9)
    want = np.einsum("pij,ij->p", J, 2 * w * (m - o))
    np.testing.assert_allclose([r.grad[n] for n in names], want, rtol=1e-8, atol=1e-10 * np.abs(want).max())
    # 0 where not counted; the loss sums a row at a time (Miller indices rounded differently)
    np.testing.assert_allclose(r.model, np.where(mask, image, 0), rtol=1e-12, atol=1e-14 * image.max())
    assert r.F_grad is None and r.hkl_origin is None

    r = exp.loss_gradient(observed.astype(np.int32), names, loss="poisson")
    assert r.model is None
    assert r.loss == pytest.approx(np.sum(m - o * np.log(m)), rel=1e-9)
    want = np.einsum("pij,ij->p", J, 1 - o / m)
    np.testing.assert_allclose([r.grad[n] for n in names], want, rtol=1e-8, atol=1e-10 * np.abs(want).max())
    assert list(r.grad) == names and "loss" in repr(r)

    # the same bits at any thread count
    one = exp.loss_gradient(observed, names, loss="poisson", threads=1)
    two = exp.loss_gradient(observed, names, loss="poisson", threads=2)
    assert one.loss == two.loss and one.grad == two.grad


def test_structure_factor_gradient():
    rng = np.random.default_rng(3)
    grid = rng.uniform(50, 150, (9, 9, 9))
    exp = nanobragg.Experiment(**dict(SMALL, default_F=0), F_grid=grid, hkl_origin=(-4, -4, -4), oversample=1)
    observed = rng.poisson(double_image(exp) * 0.9 + 0.2)
    r = exp.loss_gradient(observed, ["Na"], loss="lsq", F_grad=True)
    assert r.F_grad.shape == grid.shape and r.hkl_origin == (-4, -4, -4)
    big = np.unravel_index(np.argmax(np.abs(r.F_grad)), grid.shape)
    assert r.F_grad[big] != 0
    h = 1e-3
    for index in (big, (0, 0, 0)):
        losses = []
        for dF in (h, -h):
            g = grid.copy()
            g[index] += dF
            other = exp.with_params(F_grid=g, hkl_origin=(-4, -4, -4))
            losses.append(other.loss_gradient(observed, [], loss="lsq").loss)
        fd = (losses[0] - losses[1]) / (2 * h)
        assert r.F_grad[index] == pytest.approx(fd, rel=1e-4, abs=1e-6 * abs(r.F_grad[big]))
    with pytest.raises(ValueError, match="structure factor"):
        nanobragg.Experiment(**SMALL).loss_gradient(observed, [], F_grad=True)


def test_refine_recovers_parameters():
    truth = nanobragg.Experiment(**SMALL, oversample=1)
    observed = double_image(truth).astype(np.float32)        # noise-free: the minimum is the truth
    start = truth.with_params(distance_mm=50.5, Na=7.0, crystal_rotz_deg=0.1)
    before = start.simulate()
    names = ["distance_mm", "Na", "crystal_rotz_deg"]
    for method in ("lm", "lbfgs"):
        r = nanobragg.refine(start, observed, names, loss="poisson", method=method, max_iterations=100)
        assert r.values["distance_mm"] == pytest.approx(50, abs=1e-3), method
        assert r.values["Na"] == pytest.approx(6, abs=1e-3), method
        assert r.values["crystal_rotz_deg"] == pytest.approx(0, abs=1e-4), method
        assert r.start == {"distance_mm": 50.5, "Na": 7.0, "crystal_rotz_deg": 0.1}
        assert r.loss_history[0] > r.loss == r.loss_history[-1] and len(r.loss_history) == r.iterations + 1
        assert all(np.isfinite(v) and v > 0 for v in r.std_errors.values())
        assert isinstance(r.stop, str) and r.stop and len(r.log) == r.iterations
        assert r.experiment.value("distance_mm") == r.values["distance_mm"]
        assert r.experiment.params["Na"] == r.values["Na"]
        np.testing.assert_allclose(r.experiment.simulate(), observed, rtol=1e-3, atol=1e-3 * observed.max())
    # the experiment given is unchanged
    assert start.value("distance_mm") == 50.5 and start.value("Na") == 7.0 and start.params["Na"] == 7.0
    assert np.array_equal(start.simulate(), before)
    # least squares with bounds that hold a parameter below its true value
    r = nanobragg.refine(start, observed, ["distance_mm", "Na"], loss="lsq", bounds={"Na": (6.5, None)},
                         max_iterations=30)
    assert 6.5 <= r.values["Na"] < 6.6
    with pytest.raises(ValueError, match="distance_mm"):
        nanobragg.refine(start, observed, ["distance_mm"], bounds={"distance_mm": (60, 70)})


def test_refine_cell_elements_give_the_cell():
    truth = nanobragg.Experiment(**SMALL, oversample=1)
    observed = double_image(truth)
    start = truth.with_params(cell_b_A=60.3)
    r = nanobragg.refine(start, observed, ["cell_b_A"], max_iterations=30)
    assert r.values["cell_b_A"] == pytest.approx(60, abs=1e-3)
    assert "cell_b_A" not in r.experiment.params
    assert r.experiment.params["cell"][1] == r.values["cell_b_A"]
    again = nanobragg.Experiment(**r.experiment.params)
    assert again.value("cell_b_A") == r.values["cell_b_A"]


def test_errors(exp):
    image = double_image(exp)
    observed = image.astype(np.float32)
    with pytest.raises(ValueError, match="not a differentiable parameter.*did you mean Na"):
        exp.jacobian(["Naa"])
    with pytest.raises(ValueError, match="pixel_mm"):
        exp.loss_gradient(observed, ["pixel_mm"])
    with pytest.raises(ValueError, match="twice"):
        exp.jacobian(["Na", "Na"])
    with pytest.raises(TypeError, match="params"):
        exp.jacobian([1])
    with pytest.raises(TypeError, match="params"):
        exp.jacobian(None)
    with pytest.raises(ValueError, match="region or pixels"):
        exp.jacobian(["Na"], region=(0, 0, 2, 2), pixels=[1])
    with pytest.raises(ValueError, match="region"):
        exp.jacobian(["Na"], region=(0, 0, 41, 2))
    with pytest.raises(ValueError, match="index|pixel"):
        exp.jacobian(["Na"], pixels=[1600])
    with pytest.raises(ValueError, match="pixel"):
        exp.jacobian(["Na"], pixels=[-1])
    with pytest.raises(ValueError, match="shape"):
        exp.loss_gradient(observed[:, :39], ["Na"])
    with pytest.raises(ValueError, match="shape"):
        exp.loss_gradient(observed.reshape(-1), ["Na"])
    with pytest.raises(ValueError, match="weights.*shape"):
        exp.loss_gradient(observed, ["Na"], weights=np.ones((3, 3)))
    with pytest.raises(ValueError, match="mask.*shape"):
        exp.loss_gradient(observed, ["Na"], mask=np.ones(5, bool))
    with pytest.raises(TypeError, match="observed"):
        exp.loss_gradient(observed.astype(complex), ["Na"])
    with pytest.raises(TypeError, match="observed"):
        exp.loss_gradient("abc", ["Na"])
    with pytest.raises(ValueError, match="loss"):
        exp.loss_gradient(observed, ["Na"], loss="l2")
    with pytest.raises(ValueError, match="weights"):
        exp.loss_gradient(observed, ["Na"], loss="poisson", weights=np.ones(exp.shape))
    bad = observed.copy()
    bad[0, 5] = np.nan
    with pytest.raises(ValueError, match=r"\(5, 0\)"):
        exp.loss_gradient(bad, ["Na"])
    with pytest.raises(ValueError, match="weight"):
        exp.loss_gradient(observed, ["Na"], weights=-np.ones(exp.shape))
    # a Poisson loss where the model is 0 and photons are seen: the pixel is named
    dark = exp.with_params(fluence=0)
    counts = np.zeros(exp.shape)
    counts[3, 7] = 2
    with pytest.raises(ValueError, match=r"\(7, 3\)"):
        dark.loss_gradient(counts, ["Na"], loss="poisson")
    with pytest.raises(ValueError, match=r"\(7, 3\)"):
        nanobragg.refine(dark, counts, ["fluence"])
    # refusals of the library: unsupported set-ups and options, named
    with pytest.raises(ValueError, match="shape"):
        exp.with_params(shape="gauss").jacobian(["Na"], pixels=[0])
    with pytest.raises(ValueError, match="pixel_fraction"):
        nanobragg.refine(exp, observed, ["Na"], pixel_fraction=0)
    with pytest.raises(ValueError, match="method"):
        nanobragg.refine(exp, observed, ["Na"], method="newton")
    with pytest.raises(ValueError, match="bounds.*distance_mm"):
        nanobragg.refine(exp, observed, ["Na"], bounds={"distance_mm": (1, 2)})
    with pytest.raises(ValueError, match="bounds"):
        nanobragg.refine(exp, observed, ["Na"], bounds={"Na": 3})
    with pytest.raises(TypeError, match="bounds"):
        nanobragg.refine(exp, observed, ["Na"], bounds=[(1, 2)])
    with pytest.raises(ValueError, match="seed"):
        nanobragg.refine(exp, observed, ["Na"], seed=-1)
    with pytest.raises(TypeError, match="experiment"):
        nanobragg.refine(None, observed, ["Na"])
    with pytest.raises(ValueError):
        nanobragg.refine(exp, observed, [])


def test_progress_cancels(exp):
    with pytest.raises(nanobragg.CancelledError):
        exp.jacobian(["Na"], progress=lambda f: True)
    with pytest.raises(ZeroDivisionError):
        exp.loss_gradient(double_image(exp), ["Na"], progress=lambda f: 1 / 0)
    seen = []
    exp.jacobian(["Na"], progress=seen.append)
    assert seen and seen[-1] == 1.0


def test_torch_is_optional():
    """nanobragg never imports torch itself; without torch, nanobragg.torch says clearly that it
    needs it (torch hidden here by a None in sys.modules, which makes its import fail)."""
    code = ("import sys, nanobragg\n"
            "assert 'torch' not in sys.modules\n"
            "sys.modules['torch'] = None\n"
            "try:\n"
            "    import nanobragg.torch\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "nanobragg.torch needs PyTorch" in r.stdout


def test_torch_gradients(exp):
    torch = pytest.importorskip("torch")
    import nanobragg.torch as nbt
    names = ["distance_mm", "Na", "cell_b_A"]
    values = torch.tensor([50.0, 6.0, 60.0], dtype=torch.float64, requires_grad=True)
    image = nbt.simulate(exp, names, values)
    np_image, J = exp.jacobian(names)
    assert image.dtype == torch.float64 and tuple(image.shape) == exp.shape
    np.testing.assert_allclose(image.detach().numpy(), np_image, rtol=1e-12)
    weights = torch.from_numpy(np.random.default_rng(1).random(exp.shape))
    (image * weights).sum().backward()
    np.testing.assert_allclose(values.grad.numpy(), np.einsum("pij,ij->p", J, weights.numpy()), rtol=1e-10)
    # values elsewhere: the image of with_params
    other = nbt.simulate(exp, ["distance_mm"], [torch.tensor(51.0)])
    np.testing.assert_allclose(other.numpy(), double_image(exp.with_params(distance_mm=51)), rtol=1e-12)
    part = nbt.simulate(exp, names, values, region=(0, 0, 5, 4))
    assert tuple(part.shape) == (4, 5)
