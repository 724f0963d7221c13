"""Shared fixtures of the Python package's tests.

NB_PROGRAM: the nanobragg program (default build/nanobragg); NB_CASES: the
reference cases (default tests/reference/cases).  The package itself is found
on PYTHONPATH (<build>/python, as the CTest registration sets it)."""
import os
import shlex
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = Path(os.environ.get("NB_PROGRAM", ROOT / "build" / "nanobragg"))
CASES = Path(os.environ.get("NB_CASES", ROOT / "tests" / "reference" / "cases"))

nanobragg = pytest.importorskip("nanobragg")


def case_args(name):
    return shlex.split((CASES / name / "args").read_text())


def run_case(name, workdir):
    """Copy the case's inputs into workdir, run the program there; returns the words."""
    for f in (CASES / name).iterdir():
        if f.name not in ("expected", "about", "args"):
            shutil.copy(f, workdir)
    words = case_args(name)
    if not PROGRAM.exists():
        pytest.skip(f"{PROGRAM} is not built")
    subprocess.run([str(PROGRAM)] + words, cwd=workdir, check=True, capture_output=True)
    return words


def read_float(path, shape):
    return np.fromfile(path, dtype=np.float32).reshape(shape)


@pytest.fixture
def incase(tmp_path, monkeypatch):
    """Run a reference case with the program in a temporary directory which becomes the
    working directory; returns (words, directory)."""
    def run(name):
        words = run_case(name, tmp_path)
        monkeypatch.chdir(tmp_path)
        return words, tmp_path
    return run
