"""Run some of the Python package's tests with pytest, or exit 77 (CTest: skipped) when
the package was not built or pytest is missing.

    python3 run.py TEST_FILE... (paths relative to this folder)"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

try:
    import nanobragg  # noqa: F401
except ImportError as e:
    print(f"skipped: the nanobragg package is not importable ({e}); make python builds it")
    sys.exit(77)
try:
    import pytest
except ImportError:
    print("skipped: pytest is missing (Debian: python3-pytest)")
    sys.exit(77)

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "--rootdir", HERE]
                     + [os.path.join(HERE, f) for f in sys.argv[1:]]))
