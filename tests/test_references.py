"""PyTorch reference values recorded once per class (dlbgrader.references).

The unit tests check the key (what it depends on and what it must not), the record -> look-up round
trip against PyTorch itself, and the fallbacks. The slow tests record a real notebook, and grade the
reference answers of ps2 in the sandbox against deliberately wrong recorded values: exactly the
PyTorch comparison cells must then fail, which shows the sandboxed kernels read the recording.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import nbformat
import numpy as np
import pytest
import torch

import dlbgrader.references as refs
from dlbgrader.grade import grade_class
from dlbgrader.sandbox import probe
from dlbgrader.synthetic import write_solution_submission
from tests.grading_helpers import points, released_course


def torch_sigmoid(x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.sigmoid(xt)
    yt.backward(torch.tensor(dout))
    assert xt.grad is not None
    return yt.detach().numpy(), xt.grad.numpy()


#: Calls of the decorated functions below (a global: variables a function captures are part of its key).
CALLS: list[str] = []
VALUES: dict[str, Any] = {}


@refs.torch_reference
def counted_sigmoid(x: np.ndarray, dout: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    CALLS.append("sigmoid")
    return torch_sigmoid(x, dout)


@refs.torch_reference
def make(kind: str) -> Any:
    CALLS.append(kind)
    return VALUES[kind]


@pytest.fixture
def recording(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """This process records into tmp_path (as the instructor's run of the source notebook does)."""
    monkeypatch.setattr(refs, "_record", str(tmp_path))
    monkeypatch.setattr(refs, "_folder", None)
    CALLS.clear()
    yield tmp_path


def _looking_up(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    (folder / refs.STAMP).write_text("test\n")
    monkeypatch.setattr(refs, "_record", None)
    refs.use(str(folder))  # the fixture's monkeypatch of _folder restores it after the test


def test_key_depends_on_code_and_every_argument_but_not_on_where_it_was_defined() -> None:
    x = np.arange(6.0).reshape(2, 3)
    k = refs.key(torch_sigmoid, (x, x), {})
    assert k is not None and k == refs.key(torch_sigmoid, (x.copy(), x.copy()), {})
    one_ulp = x.copy()
    one_ulp[1, 2] = np.nextafter(one_ulp[1, 2], np.inf)
    assert k != refs.key(torch_sigmoid, (one_ulp, x), {})
    assert k != refs.key(torch_sigmoid, (x.astype(np.float32), x), {})  # dtype
    assert k != refs.key(torch_sigmoid, (x.reshape(3, 2), x), {})  # shape, same bytes
    assert k != refs.key(torch_sigmoid, (x, x), {"kw": 1})
    # The same source compiled elsewhere (another kernel: other file name and line) has the same key.
    src = "def torch_sigmoid(x, dout):\n    return x * dout\n"
    ns1: dict[str, Any] = {}
    ns2: dict[str, Any] = {}
    exec(compile(src, "/tmp/ipykernel_1/1.py", "exec"), ns1)
    exec(compile("\n\n" + src, "/tmp/ipykernel_2/7.py", "exec"), ns2)
    assert refs.key(ns1["torch_sigmoid"], (x, x), {}) == refs.key(ns2["torch_sigmoid"], (x, x), {})
    exec(compile(src.replace("x * dout", "x + dout"), "f.py", "exec"), ns2)
    assert refs.key(ns1["torch_sigmoid"], (x, x), {}) != refs.key(ns2["torch_sigmoid"], (x, x), {})
    # Captured variables are part of the key; an argument that cannot be keyed means no key.
    scale = 2.0
    assert refs.key(lambda v: v * scale, (x,), {}) != refs.key(lambda v: v * 3.0, (x,), {})
    assert refs.key(torch_sigmoid, (object(), x), {}) is None
    assert refs.key(torch_sigmoid, (np.array([object()]), x), {}) is None


def test_record_then_look_up_returns_what_pytorch_computed(recording: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    x, dout = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    recorded = counted_sigmoid(x, dout)
    assert len(CALLS) == 1 and len(list(recording.glob("*.npz"))) == 1
    _looking_up(monkeypatch, recording)
    out, dx = counted_sigmoid(x.copy(), dout.copy())
    assert len(CALLS) == 1, "looked up, not computed again"
    expected = torch_sigmoid(x, dout)  # PyTorch, independently of the recording
    np.testing.assert_array_equal(out, expected[0])
    np.testing.assert_array_equal(dx, expected[1])
    assert isinstance(recorded, tuple) and out.dtype == np.float64 and out.shape == (3, 4)
    counted_sigmoid(x + 1.0, dout)  # not recorded: computed
    assert len(CALLS) == 2


def test_results_keep_their_kind(recording: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    VALUES.update({"array": np.arange(3.0), "tuple": (np.ones(2), 2.5),
                   "list": [np.zeros((1, 2)), np.int64(3)], "number": 1.25})
    for kind in list(VALUES):
        make(kind)
    _looking_up(monkeypatch, recording)
    VALUES.clear()  # a look-up must not call make again
    got = {kind: make(kind) for kind in ("array", "tuple", "list", "number")}
    assert len(CALLS) == 4
    assert isinstance(got["array"], np.ndarray) and np.array_equal(got["array"], np.arange(3.0))
    assert isinstance(got["tuple"], tuple) and np.array_equal(got["tuple"][0], np.ones(2))
    assert float(got["tuple"][1]) == 2.5
    assert isinstance(got["list"], list) and got["list"][0].shape == (1, 2) and int(got["list"][1]) == 3
    assert float(got["number"]) == 1.25


def test_without_a_complete_folder_everything_is_computed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(refs, "_record", None)
    monkeypatch.setattr(refs, "_folder", None)  # restored after the test, whatever use() set
    refs.use(str(tmp_path))  # no STAMP: an interrupted recording is not used
    assert refs._folder is None
    refs.use(None)
    x = np.linspace(-2, 2, 5)
    out, dx = refs.torch_reference(torch_sigmoid)(x, np.ones(5))
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x)), rtol=1e-15)
    # A damaged file is computed instead of failing the student's test.
    (tmp_path / refs.STAMP).write_text("")
    refs.use(str(tmp_path))
    k = refs.key(torch_sigmoid, (x, np.ones(5)), {})
    (tmp_path / f"{k}.npz").write_bytes(b"not a zip")
    out2, _ = refs.torch_reference(torch_sigmoid)(x, np.ones(5))
    np.testing.assert_array_equal(out, out2)


def _tiny_notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np\nfrom dlbgrader.references import torch_reference\n\n"
        "@torch_reference\ndef torch_tanh(x):\n    import torch\n    return torch.tanh(torch.tensor(x)).numpy()\n"),
        nbformat.v4.new_code_cell(body)]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))
    return path


@pytest.mark.slow
def test_ensure_recorded_runs_the_source_once_per_version(tmp_path: Path) -> None:
    nb = _tiny_notebook(tmp_path / "src" / "a.ipynb", "for s in range(3):\n    torch_tanh(np.arange(s + 1.0))")
    folder = tmp_path / "references" / "a"
    assert refs.ensure_recorded(nb, folder, timeout=60) == (True, "")
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 4 and refs.STAMP in files
    assert refs.ensure_recorded(nb, folder, timeout=60) == (False, "")  # same source: kept
    _tiny_notebook(nb, "torch_tanh(np.ones(2))\nraise ValueError('broken cell')")
    recorded, problem = refs.ensure_recorded(nb, folder, timeout=60)
    assert recorded and "1 cell(s) of a.ipynb failed" in problem and "broken cell" in problem
    assert len(list(folder.glob("*.npz"))) == 1  # the old recording was replaced, not added to
    assert not list(folder.parent.glob(".a.*")), "no temporary folder left"


@pytest.mark.slow
def test_sandboxed_kernels_use_the_recording(tmp_path: Path) -> None:
    """Wrong recorded values make exactly the PyTorch comparison cells fail for the reference answers."""
    if probe("bwrap"):
        pytest.fail(f"the grading sandbox cannot run here: {probe('bwrap')}")
    assignment = "ps2_activations"
    course, source_nb, release_nb = released_course(tmp_path / "course", assignment)
    folder = course.references_dir / assignment
    assert refs.ensure_recorded(source_nb, folder, timeout=60)[0]
    entries = list(folder.glob("*.npz"))
    assert len(entries) >= 7
    for path in entries:  # the same shapes, values off by one
        with np.load(path) as data:
            arrays = {k: data[k] for k in data.files}
        for k in arrays:
            if k.startswith("r"):
                arrays[k] = arrays[k] + 1.0
        with open(path, "wb") as f:
            np.savez(f, **arrays)
    subs = tmp_path / "subs"
    write_solution_submission(source_nb, release_nb, subs / "reference.ipynb")
    run = grade_class(course, assignment, subs, progress=False, workers=1, feedback=False, timeout=30)
    assert run.sandbox.startswith("sandboxed"), run.sandbox
    r = run[0]
    assert r.status == "graded", r.reason
    cell_points = points(assignment)[0]
    lost = {c for c, p in cell_points.items() if (r.cells.get(c) or 0.0) < p}
    assert lost == {c for c in cell_points if c.endswith("_torch")}
