"""PyTorch reference values computed once per class, not once per student.

A hidden test compares a student's function with PyTorch on inputs the test makes from fixed
seeds. Those inputs do not depend on the student, so neither do PyTorch's answers: computing them
in every student's kernel repeats the same work, and importing PyTorch alone costs about 3 s of CPU
per notebook. A test cell therefore writes its PyTorch computation as a function of its inputs,
decorated with :func:`torch_reference`::

    @torch_reference
    def torch_sigmoid(x, dout):
        import torch
        xt = torch.tensor(x, requires_grad=True)
        torch.sigmoid(xt).backward(torch.tensor(dout))
        ...
        return out, dx

and calls it after the student's function (so the student's code never sees the expected values).

* **Record** (:func:`ensure_recorded`, run by ``dlb grade`` before grading): the assignment's source
  notebook, reference answers and hidden tests, is executed once with recording on; each call
  computes with PyTorch and saves its result under a key made of the function's code and the
  arguments' bytes.
* **Grade**: the grader's kernels find the saved result by the same key (the folder is bound
  read-only into the sandbox, and named to the kernel before any student cell runs). A call that was
  not recorded -- other inputs, other code -- is computed with PyTorch in the kernel, as it would be
  without all this; so is every call under stock ``nbgrader autograde``, which never names a folder.

The function must depend on nothing but its arguments (and PyTorch): that is what makes the result a
function of the key. Arguments may be arrays, numbers, strings, None, and tuples, lists or dicts of
them; a call with any other argument is simply never saved.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import sys
import tempfile
import types
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

F = TypeVar("F", bound=Callable[..., Any])

#: Set (to a folder) in the kernel that records, by :func:`ensure_recorded`; read once, at import.
RECORD_ENV = "DLB_REFERENCES_RECORD"
#: The file that marks a folder as complete and says what it was recorded from.
STAMP = "STAMP"

#: The folder of saved results used by this kernel (set by the grader before any student cell runs).
_folder: str | None = None
#: The folder this kernel records into (the instructor's run of the source notebook only).
_record: str | None = os.environ.get(RECORD_ENV) or None


def use(folder: str | None) -> None:
    """Look results up in ``folder`` (a recorded folder); None: always compute."""
    global _folder
    _folder = folder if folder and os.path.isfile(os.path.join(folder, STAMP)) else None


class _Uncacheable(Exception):
    pass


def _code_digest(h: Any, code: types.CodeType) -> None:
    """What a code object does, without where it was defined (file name and line numbers vary per kernel)."""
    h.update(code.co_code)
    h.update(repr((code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
                   code.co_argcount, code.co_kwonlyargcount, code.co_flags)).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(h, const)
        else:
            h.update(repr(const).encode())
        h.update(b"\0")


def _value_digest(h: Any, value: Any) -> None:
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject:
            raise _Uncacheable
        h.update(f"nd:{value.dtype.str}:{value.shape}:".encode())
        h.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (np.generic, bool, int, float, complex, str, type(None))):
        h.update(f"{type(value).__name__}:{value!r}".encode())
    elif isinstance(value, (tuple, list)):
        h.update(f"{type(value).__name__}[{len(value)}](".encode())
        for item in value:
            _value_digest(h, item)
            h.update(b",")
        h.update(b")")
    elif isinstance(value, dict):
        h.update(f"dict[{len(value)}](".encode())
        for k in sorted(value, key=repr):
            _value_digest(h, k)
            h.update(b"=")
            _value_digest(h, value[k])
            h.update(b",")
        h.update(b")")
    else:
        raise _Uncacheable


def key(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    """The key of ``fn(*args, **kwargs)``, or None if an argument (or a captured variable) cannot be keyed."""
    h = hashlib.sha256(f"{sys.version_info[:2]}:{getattr(fn, '__name__', '?')}:".encode())
    try:
        _code_digest(h, fn.__code__)
        _value_digest(h, (fn.__defaults__, fn.__kwdefaults__,
                          tuple(c.cell_contents for c in (fn.__closure__ or ())), args, kwargs))
    except (_Uncacheable, AttributeError, ValueError):
        return None
    return h.hexdigest()


def _save(path: str, result: Any) -> None:
    """Save arrays and numbers, or a tuple or list of them (no pickles); atomically."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    arrays = {f"r{i}": np.asarray(v) for i, v in enumerate(items)}
    if any(a.dtype.hasobject for a in arrays.values()):
        return
    kind = type(result).__name__ if isinstance(result, (tuple, list)) else "one"
    scalars = [i for i, v in enumerate(items) if not isinstance(v, np.ndarray)]
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
    os.fchmod(fd, 0o644)  # the grading kernels may run under another uid
    with os.fdopen(fd, "wb") as f:
        payload: dict[str, Any] = {"kind": np.array(kind), "scalars": np.array(scalars, dtype=np.int64), **arrays}
        np.savez(f, **payload)
    os.replace(tmp, path)


def _load(path: str) -> Any:
    with np.load(path, allow_pickle=False) as data:
        kind = str(data["kind"])
        scalars = set(data["scalars"].tolist())
        n = len([k for k in data.files if k.startswith("r")])
        items = [data[f"r{i}"][()] if i in scalars else data[f"r{i}"] for i in range(n)]
    if kind == "one":
        return items[0]
    return list(items) if kind == "list" else tuple(items)


def torch_reference(fn: F) -> F:
    """Decorate a test cell's PyTorch computation so that the grader computes it once per class."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        folder = _record or _folder
        k = key(fn, args, kwargs) if folder else None
        path = os.path.join(folder, f"{k}.npz") if folder and k else None
        if path and not _record and os.path.isfile(path):
            try:
                return _load(path)
            except (OSError, ValueError, KeyError):
                pass  # unreadable: compute it, as without a folder
        result = fn(*args, **kwargs)
        if path and _record:
            _save(path, result)
        return result

    return wrapper  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# The grader's side: record an assignment's reference values once
# ---------------------------------------------------------------------------------------------

def _stamp_text(source_dir: Path) -> str:
    """What a recording depends on: the assignment's source, this package, PyTorch and NumPy."""
    import dlbasics
    from dlbasics.course.grade import _hash_tree, _version

    parts = {
        "assignment": _hash_tree(source_dir),
        "dlbasics": _hash_tree(Path(dlbasics.__file__).parent, suffix=".py"),
        "torch": _version("torch"),
        "numpy": np.__version__,
        "python": sys.version.split()[0],
    }
    return "".join(f"{k} {v}\n" for k, v in parts.items())


def ensure_recorded(source_notebook: Path, folder: Path, *, timeout: int = 60) -> tuple[bool, str]:
    """Make ``folder`` hold the reference values of ``source_notebook``'s tests; return (recorded now, problem).

    Nothing is done when ``folder`` was recorded from the same source and versions. Otherwise the
    notebook is executed (it is the instructor's source, answers included) in a fresh kernel with
    recording on, in a temporary copy of its folder. A cell that fails is reported in ``problem``;
    what was recorded is kept (a missing value is computed by the student's kernel instead).
    """
    import nbformat
    from nbclient import NotebookClient
    from traitlets.config import Config

    source_dir = source_notebook.parent
    stamp = _stamp_text(source_dir)
    if (folder / STAMP).is_file() and (folder / STAMP).read_text(encoding="utf-8") == stamp:
        return False, ""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    work = Path(tempfile.mkdtemp(prefix="dlb-record-"))
    problem = ""
    try:
        shutil.copytree(source_dir, work, dirs_exist_ok=True)
        nb = nbformat.read(str(source_notebook), as_version=4)
        (work / ".ipc").mkdir()
        c = Config()  # Unix sockets, not TCP on loopback; the client owns (and shuts down) the kernel
        c.KernelManager.transport = "ipc"
        c.KernelManager.ip = str(work / ".ipc" / "kernel")
        client = NotebookClient(nb, config=c, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(work)}})
        env = {**os.environ, RECORD_ENV: str(tmp)}
        client.execute(env=env)
        errors = [c for c in nb.cells if c.get("cell_type") == "code"
                  and any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        if errors:
            first = next(o for o in errors[0]["outputs"] if o.get("output_type") == "error")
            problem = (f"{len(errors)} cell(s) of {source_notebook.name} failed while recording the PyTorch "
                       f"reference values (first: {first.get('ename')}: {first.get('evalue')})")
        (tmp / STAMP).write_text(stamp, encoding="utf-8")
        os.chmod(tmp, 0o755)
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)
    except Exception as exc:  # the grading still works without: every kernel computes its own values
        shutil.rmtree(tmp, ignore_errors=True)
        return False, f"could not record the PyTorch reference values: {type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return True, problem
