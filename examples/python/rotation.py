"""A small rotation series: ten 1-degree frames of one crystal, written as SMV images with
Poisson noise (frame_001.img ...).  The structure factors are read once and shared by every
frame's experiment (with_params).

    PYTHONPATH=build/python python3 examples/python/rotation.py [OUTDIR]
"""
import sys
from pathlib import Path

import numpy as np

import nanobragg

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

# A dense grid of F over h, k, l = -8..8 (the grid's first point is hkl_origin).
grid = np.fromfunction(lambda h, k, l: 20 + 80 * np.cos(0.7 * h + 1.3 * k + 2.1 * l) ** 2, (17, 17, 17))
first = nanobragg.Experiment(cell=(50, 60, 70, 90, 90, 90), F_grid=grid, hkl_origin=(-8, -8, -8), N=8,
                             lambda_A=1.2, distance_mm=80, detpixels=256, pixel_mm=0.2,
                             mosaic_spread_deg=0.2, mosaic_domains=4,
                             phi_deg=0, osc_deg=1, phisteps=4)
for i in range(10):
    exp = first.with_params(phi_deg=float(i))
    image = exp.simulate()
    path = out / f"frame_{i + 1:03d}.img"
    nanobragg.write_smv(path, nanobragg.add_noise(image, exp, seed=i + 1), exp)
    print(f"{path}: phi {i}-{i + 1} deg, max {image.max():.4g} photons")
