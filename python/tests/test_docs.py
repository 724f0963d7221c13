"""The README's Python example and examples/python/ run as written."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT, nanobragg  # skips without the package


def readme_example():
    lines = (ROOT / "README.md").read_text().splitlines()
    start = lines.index("    import nanobragg")
    block = []
    for line in lines[start:]:
        if not line.startswith("    "):
            break
        block.append(line[4:])
    return "\n".join(block) + "\n"


def run(args, cwd):
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(nanobragg.__file__)))
    env = dict(os.environ, MPLBACKEND="Agg",
               PYTHONPATH=os.pathsep.join([package_dir] + os.environ.get("PYTHONPATH", "").split(os.pathsep)))
    return subprocess.run([sys.executable] + args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_readme_example(tmp_path):
    (tmp_path / "example.py").write_text(readme_example())
    r = run(["example.py"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "still.img").stat().st_size == 512 + 2 * 256 * 256


@pytest.mark.parametrize("script, made", [("still.py", "still_noise.img"), ("rotation.py", "frame_010.img")])
def test_examples(script, made, tmp_path):
    r = run([str(ROOT / "examples" / "python" / script), str(tmp_path / "out")], tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / made).exists()
