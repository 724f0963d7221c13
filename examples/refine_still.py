"""Refinement of a still: simulate an image from known parameters, add Poisson noise, start
from perturbed values and recover them by Levenberg-Marquardt on the Poisson likelihood,
with the analytic derivatives of libnanobragg.  Prints true, start, refined values and the
refinement's standard errors.

    PYTHONPATH=build/python python3 examples/refine_still.py
"""
import time
import warnings

import numpy as np

import nanobragg

# The truth: an orthorhombic crystal of 6 x 6 x 6 cells on a small detector at 50 mm.
# The library would advise more sub-pixels for this crystal; 2 keep the example fast, and the
# model the refinement fits has the same 2.
warnings.simplefilter("ignore", nanobragg.NanobraggWarning)
truth = nanobragg.Experiment(cell=(50, 60, 70, 90, 90, 90), misset_deg=(10, 20, 30), N=6, default_F=100,
                             detpixels=128, pixel_mm=0.2, distance_mm=50, Xbeam_mm=12.9, Ybeam_mm=12.7,
                             lambda_A=1.0, water_um=0.02, fluence=2e29, oversample=2)
image, _ = truth.jacobian([])                       # the noise-free image, in double
observed = np.random.default_rng(2024).poisson(image).astype(np.float32)

PARAMS = ["crystal_rotx_deg", "crystal_roty_deg", "crystal_rotz_deg", "cell_a_A", "cell_b_A", "cell_c_A",
          "distance_mm", "Xbeam_mm", "Ybeam_mm", "Na", "Nb", "Nc", "fluence"]
true = {name: truth.value(name) for name in PARAMS}

# The start: orientation 0.3 degree off, cell edges 1% long, distance 1 mm long, beam centre
# 2 pixels off along each axis, N 20% large and the scale (fluence) 30% high.
pixel = truth.info["pixel_mm"]
start = truth.with_params(crystal_rotx_deg=0.2, crystal_roty_deg=-0.2, crystal_rotz_deg=0.1,
                          cell_a_A=true["cell_a_A"] * 1.01, cell_b_A=true["cell_b_A"] * 1.01,
                          cell_c_A=true["cell_c_A"] * 1.01, distance_mm=true["distance_mm"] + 1,
                          Xbeam_mm=true["Xbeam_mm"] + 2 * pixel, Ybeam_mm=true["Ybeam_mm"] - 2 * pixel,
                          Na=true["Na"] * 1.2, Nb=true["Nb"] * 1.2, Nc=true["Nc"] * 1.2,
                          fluence=true["fluence"] * 1.3)

t0 = time.perf_counter()
result = nanobragg.refine(start, observed, PARAMS, loss="poisson", method="lm", max_iterations=200)
seconds = time.perf_counter() - t0

print(f"{result.iterations} steps in {seconds:.1f} s, loss {result.loss_history[0]:.10g} -> {result.loss:.10g} "
      f"({result.stop})")
print(f"{'parameter':<18} {'true':>12} {'start':>12} {'refined':>14} {'std error':>10} {'error/std':>9}")
for name in PARAMS:
    v, s = result.values[name], result.std_errors[name]
    print(f"{name:<18} {true[name]:>12.6g} {result.start[name]:>12.6g} {v:>14.8g} {s:>10.2g} "
          f"{(v - true[name]) / s:>9.2f}")

# The refined experiment renders the refined image.
residual = observed - result.experiment.simulate()
print(f"rms residual {np.sqrt(np.mean(residual ** 2)):.3g} photons "
      f"(Poisson noise alone: {np.sqrt(np.mean(image)):.3g})")
