#!/bin/sh
# check_pip.sh SOURCE_DIR PYTHON SCRATCH - pip install --no-build-isolation of
# the Python package (python/setup.py, which builds it with CMake) from a copy
# of the source tree into SCRATCH/site, offline (--no-index --no-deps), then
# import it from there and render an image.  Exit 77 (skipped) without pip or
# setuptools for PYTHON.  SCRATCH is removed when the test passes.
set -u
src=$1 py=$2 scratch=$3
"$py" -m pip --version >/dev/null 2>&1 || { echo "skipped: no pip for $py (Debian: python3-pip)"; exit 77; }
"$py" -c "import setuptools" >/dev/null 2>&1 || { echo "skipped: no setuptools for $py"; exit 77; }
rm -rf "$scratch" && mkdir -p "$scratch/tree" || exit 1
for part in CMakeLists.txt cmake include src app python bench tools; do
    cp -R "$src/$part" "$scratch/tree/" || exit 1
done
rm -rf "$scratch/tree/python/build" "$scratch"/tree/python/*.egg-info
if ! "$py" -m pip install -q --no-build-isolation --no-index --no-deps --target "$scratch/site" \
        "$scratch/tree/python" >"$scratch/pip.log" 2>&1; then
    echo "FAIL: pip install; end of its log:"
    tail -n 30 "$scratch/pip.log"
    exit 1
fi
(cd "$scratch" && PYTHONPATH="$scratch/site" "$py" -c "
import nanobragg, sys
assert nanobragg.__file__.startswith('$scratch/site/'), nanobragg.__file__
image = nanobragg.Experiment(cell=50, default_F=10, N=3, detpixels=16).simulate()
assert image.shape == (16, 16) and image.max() > 0
print('pip-installed nanobragg', nanobragg.version(), 'renders')
") || exit 1
rm -rf "$scratch"
