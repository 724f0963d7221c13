#!/bin/sh
# Install the Debian packages the build and tests need, only if missing:
# the compiler, CMake, cmocka and numpy for /usr/bin/python3 (required; the
# spec acceptance tests are skipped without numpy); optional: FabIO for
# /usr/bin/python3 (the interoperability test reads our SMV images with it
# and is skipped without it), libpng (nanobragg-png, the PNG previews of
# make demo, is built only with it) and pkg-config (the library/install test
# builds the examples with it and is skipped without it); python3-dev,
# python3-setuptools and python3-pytest (the Python package is built only
# with Python's headers, and its tests are skipped without pytest); gemmi-dev,
# tao-pegtl-dev and g++ (MTZ, mmCIF and model inputs are built only with
# them) and python3-gemmi (their tests write their files with it and are
# skipped without it); libhdf5-dev (NeXus output, -nexusfile, is built only
# with it) and python3-h5py (the NeXus test reads the files with it and is
# skipped without it); libopenmpi-dev and openmpi-bin (nanobragg runs over
# MPI ranks under mpirun only with them; its MPI tests are skipped without).
# The CUDA toolkit (nvcc, for the GPU backend) is not
# a Debian package of main and is not installed here: NVIDIA's packages,
# found through CUDA_HOME or the PATH (docs/gpu.md).
need=""
command -v cmake >/dev/null 2>&1 || need="$need cmake"
command -v cc >/dev/null 2>&1 || need="$need gcc"
command -v make >/dev/null 2>&1 || need="$need make"
[ -f /usr/include/cmocka.h ] || need="$need libcmocka-dev"
/usr/bin/python3 -c "import numpy" >/dev/null 2>&1 || need="$need python3-numpy"
optional=""
/usr/bin/python3 -c "import fabio" >/dev/null 2>&1 || optional="$optional python3-fabio"
[ -f /usr/include/png.h ] || optional="$optional libpng-dev"
command -v pkg-config >/dev/null 2>&1 || optional="$optional pkg-config"
[ -n "$(ls /usr/include/python3*/Python.h 2>/dev/null)" ] || optional="$optional python3-dev"
/usr/bin/python3 -c "import setuptools" >/dev/null 2>&1 || optional="$optional python3-setuptools"
/usr/bin/python3 -c "import pytest" >/dev/null 2>&1 || optional="$optional python3-pytest"
[ -f /usr/include/gemmi/mtz.hpp ] || optional="$optional gemmi-dev"
[ -f /usr/include/tao/pegtl.hpp ] || optional="$optional tao-pegtl-dev"
command -v c++ >/dev/null 2>&1 || optional="$optional g++"
/usr/bin/python3 -c "import gemmi" >/dev/null 2>&1 || optional="$optional python3-gemmi"
[ -f /usr/include/hdf5/serial/hdf5.h ] || [ -f /usr/include/hdf5.h ] || optional="$optional libhdf5-dev"
/usr/bin/python3 -c "import h5py" >/dev/null 2>&1 || optional="$optional python3-h5py"
[ -n "$(ls /usr/lib/*/openmpi/include/mpi.h 2>/dev/null)" ] || optional="$optional libopenmpi-dev"
command -v mpirun >/dev/null 2>&1 || optional="$optional openmpi-bin"
[ -n "$need$optional" ] || exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
command -v apt-get >/dev/null 2>&1 || { [ -z "$need" ] && exit 0; echo "missing:$need (install them)"; exit 1; }
echo "installing:$need$optional"
$SUDO apt-get update -qq >/dev/null 2>&1
if [ -n "$need" ]; then
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null || exit 1
fi
for pkg in $optional; do
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null 2>&1 && continue
    case $pkg in
    python3-fabio) echo "note: python3-fabio not installed; the interoperability test will be skipped" ;;
    libpng-dev) echo "note: libpng-dev not installed; nanobragg-png (PNG previews) will not be built" ;;
    pkg-config) echo "note: pkg-config not installed; the library/install test will be skipped" ;;
    python3-dev) echo "note: python3-dev not installed; the Python package will not be built" ;;
    python3-setuptools) echo "note: python3-setuptools not installed; pip install ./python will not work" ;;
    python3-pytest) echo "note: python3-pytest not installed; the Python tests will be skipped" ;;
    gemmi-dev|tao-pegtl-dev|g++) echo "note: $pkg not installed; MTZ, mmCIF and model inputs will not be built" ;;
    python3-gemmi) echo "note: python3-gemmi not installed; the MTZ/mmCIF input tests will be skipped" ;;
    libhdf5-dev) echo "note: libhdf5-dev not installed; NeXus output (-nexusfile) will not be built" ;;
    python3-h5py) echo "note: python3-h5py not installed; the NeXus test will be skipped" ;;
    libopenmpi-dev|openmpi-bin) echo "note: $pkg not installed; nanobragg will run as one process only (the MPI tests are skipped)" ;;
    esac
done
exit 0
