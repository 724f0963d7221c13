"""Build the extension nanobragg._nanobragg with the project's CMake build (python/python.cmake),
for `pip install --no-build-isolation ./python` from a checkout of the whole project: the
library, its instruction-set variants and the flag table are compiled exactly as `make python`
compiles them, for the Python running this script."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def version():
    text = (ROOT / "include" / "nanobragg.h").read_text()
    return re.search(r'#define NB_VERSION_STRING "([^"]+)"', text).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not (ROOT / "CMakeLists.txt").exists():
            raise RuntimeError("build from a checkout of the whole nanobragg project (pip install ./python)")
        build = Path(self.build_temp).resolve() / "cmake"
        build.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cmake", "-S", str(ROOT), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                        "-DNB_TESTS=OFF", "-DNB_PYTHON=ON", f"-DPython3_EXECUTABLE={sys.executable}"],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["cmake", "--build", str(build), "--target", "nanobragg_python", "-j",
                        str(os.cpu_count() or 2)], check=True)
        built = sorted((build / "python" / "nanobragg").glob("_nanobragg*.so"))
        if not built:
            raise RuntimeError("CMake did not build _nanobragg (Python headers or numpy missing?)")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[-1], target)
        # the NeXus writer's module (a build with HDF5), found beside the extension
        module = build / "python" / "nanobragg" / "libnanobragg-nexus.so"
        if module.exists():
            shutil.copyfile(module, target.parent / module.name)


setup(version=version(), ext_modules=[Extension("nanobragg._nanobragg", sources=[])],
      cmdclass={"build_ext": CMakeBuild})
