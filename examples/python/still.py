"""A still image of a lysozyme-like crystal, saved as SMV (with Poisson noise) and, where
matplotlib is installed, as a PNG.

    PYTHONPATH=build/python python3 examples/python/still.py [OUTDIR]
"""
import sys
from pathlib import Path

import numpy as np

import nanobragg

out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
out.mkdir(parents=True, exist_ok=True)

# Structure factors as arrays: a made-up P1 table out to index 12 with a resolution falloff.
rng = np.random.default_rng(7)
h, k, l = (a.ravel() for a in np.mgrid[-12:13, -12:13, -12:13])
F = rng.gamma(2.0, 50.0, size=h.size) * np.exp(-0.02 * (h * h + k * k + l * l))

exp = nanobragg.Experiment(cell=(79.1, 79.1, 38.4, 90, 90, 90), hkl=(h, k, l), F=F, N=12,
                           lambda_A=1.0, distance_mm=120, detpixels=512, pixel_mm=0.2,
                           mosaic_spread_deg=0.1, mosaic_domains=5, misset_deg=(10, 20, 30))
shown = []


def progress(fraction):
    """Every tenth on stderr; returning True would cancel."""
    if int(10 * fraction) not in shown:
        shown.append(int(10 * fraction))
        print(f"{100 * fraction:3.0f}%", file=sys.stderr)


image = exp.simulate(progress=progress)
print(f"{exp.shape[1]} x {exp.shape[0]} pixels, max {image.max():.4g} photons, mean {image.mean():.4g}")

nanobragg.write_float(out / "still.bin", image)
nanobragg.write_smv(out / "still_noise.img", nanobragg.add_noise(image, exp, seed=1), exp)
print(f"wrote {out / 'still.bin'} and {out / 'still_noise.img'}")

try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    print("matplotlib is not installed: no PNG")
else:
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(image, cmap="gray_r", vmax=np.percentile(image, 99.5))
    ax.set_title("nanobragg still")
    fig.savefig(out / "still.png", dpi=100)
    print(f"wrote {out / 'still.png'}")
