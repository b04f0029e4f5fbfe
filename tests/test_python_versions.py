"""The package installs and works on every Python it claims (pyproject.toml's requires-python).

For ``python3.12`` and ``python3.13`` (3.11 runs the whole suite): a fresh venv, ``pip install``
of NumPy and SciPy at the pinned versions, then, with the repository's ``lib/`` on the path, a script that runs every activation, the affine layer and the MSE
forward and backward and checks each gradient against central differences in float64, the way the
book uses them. Slow (a venv and three wheels per version), so marked ``slow``. A version that is not installed is skipped; CI
machines have all three. Measured on the development machine: about 3.5 minutes per version with
a cold pip cache, about a minute with a warm one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# 3.11 is the development environment itself: the whole suite runs the package on it.
VERSIONS = ["3.12", "3.13"]

SMOKE = r"""
import sys
import numpy as np
import dlbasics.activations as A
from dlbasics.gradcheck import numerical_gradient_array, rel_error
from dlbasics.layers import linear_forward, linear_backward
from dlbasics.losses import mse_loss
from dlbasics.optim import gradient_descent

rng = np.random.default_rng(0)
x = rng.normal(size=(5, 4)) + 0.05   # away from the kinks at 0
dout = rng.normal(size=x.shape)
checked = 0
for name in ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu"]:
    fwd, bwd = getattr(A, name + "_forward"), getattr(A, name + "_backward")
    out, cache = fwd(x)
    dx = bwd(dout, cache)
    num = numerical_gradient_array(lambda z: fwd(z)[0], x.copy(), dout)
    assert rel_error(dx, num) < 1e-7, (name, rel_error(dx, num))
    assert out.dtype == x.dtype and dx.shape == x.shape, name
    checked += 1
w, b = rng.normal(size=(4, 3)), rng.normal(size=3)
out, cache = linear_forward(x, w, b)
dz = rng.normal(size=out.shape)
dx, dw, db = linear_backward(dz, cache)
assert rel_error(dw, numerical_gradient_array(lambda a: linear_forward(x, a, b)[0], w.copy(), dz)) < 1e-7
assert rel_error(dx, numerical_gradient_array(lambda a: linear_forward(a, w, b)[0], x.copy(), dz)) < 1e-7
loss, dyhat = mse_loss(out, np.zeros_like(out))
assert abs(loss - np.mean(out ** 2)) < 1e-12
traj = gradient_descent(lambda p: 2 * p, np.array([2.0]), 0.25, 10)
assert abs(traj[-1, 0] - 2.0 * 0.5 ** 10) < 1e-12
print(f"ok: Python {sys.version.split()[0]}, NumPy {np.__version__}, {checked} activations checked")
"""


def find_python(version: str) -> str | None:
    """The interpreter ``python<version>``: on the PATH, or behind a pyenv shim (which only runs the
    versions pyenv has selected), in pyenv's versions folder."""
    exe = shutil.which(f"python{version}")
    if exe is not None and "/shims/" not in exe:
        return exe
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    found = sorted(root.glob(f"versions/{version}.*/bin/python{version}"))
    return str(found[-1]) if found else exe


@pytest.mark.slow
@pytest.mark.parametrize("version", VERSIONS)
def test_package_works_on_python(version: str, tmp_path: Path) -> None:
    exe = find_python(version)
    if exe is None:
        pytest.skip(f"python{version} is not installed")
    venv = tmp_path / "venv"
    subprocess.run([exe, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
    py = venv / "bin" / "python"
    # NumPy and SciPy (what the maths package needs at run time for what the smoke test runs), pinned,
    # and the package from the repository's lib/ (pip installing it would build it in an isolated
    # environment and pull SciPy and Matplotlib too: minutes per version, for nothing the test uses)
    import numpy
    import scipy

    install = subprocess.run(
        [
            str(py),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            f"numpy=={numpy.__version__}",
            f"scipy=={scipy.__version__}",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert install.returncode == 0, (
        f"pip install on Python {version} failed:\n{install.stdout[-3000:]}{install.stderr[-3000:]}"
    )
    run = subprocess.run(
        [str(py), "-c", SMOKE],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg", "HOME": str(tmp_path), "PYTHONPATH": str(ROOT / "lib")},
    )
    assert run.returncode == 0, f"the package fails on Python {version}:\n{run.stdout}{run.stderr[-3000:]}"
    assert f"ok: Python {version}." in run.stdout, run.stdout
    assert sys.version_info >= (3, 11)
