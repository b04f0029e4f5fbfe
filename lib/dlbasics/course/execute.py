"""Hardened execution of student notebooks for nbgrader's autograder.

:class:`GuardedExecute` replaces nbgrader's Execute preprocessor: before any cell it takes a
snapshot (in the kernel) of what test cells rely on -- numpy, ``numpy.testing``, the course's check
helpers, builtins, ``sys`` hooks, IPython's error display -- and restores it before every test
cell, so code in an answer cell cannot silence the checks. It also caps stream output per cell as
it arrives, so an output flood cannot exhaust the grader's memory.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import Any

from dlbasics.course.cells import is_test_cell, nbgrader_meta

#: Characters of stream output kept per cell; the rest is dropped as it arrives (memory stays bounded).
MAX_OUTPUT_CHARS = 100_000

#: What the Execute preprocessor was doing when autograding stopped (read by the worker after a failure).
CURRENT: dict[str, Any] = {}

# Run silently in the kernel before any cell: imports the test-cell helpers, then keeps pristine
# copies of what a test cell relies on (numpy, the helpers, builtins, sys hooks, IPython's error display).
# The PyTorch reference values recorded for the assignment (dlbasics.course.references) are named
# here too, before any student cell: the folder is part of the state that is restored.
_SNAPSHOT_CODE = r'''
def _dlb_snapshot(references):
    import builtins, sys, types
    import numpy, numpy.testing
    import dlbasics.gradcheck, dlbasics.course.guard, dlbasics.course.checks, dlbasics.course.references
    dlbasics.course.references.use(references)
    mods = [builtins, numpy, numpy.testing, dlbasics.gradcheck, dlbasics.course.guard, dlbasics.course.checks,
            dlbasics.course.references]
    shell = get_ipython()
    methods = {}
    for cls in type(shell).__mro__:
        for name in ("showtraceback", "_showtraceback", "showsyntaxerror", "run_cell", "run_code",
                     "run_ast_nodes", "run_cell_async", "transform_cell", "transform_ast"):
            if name in vars(cls):
                methods.setdefault(cls, {})[name] = vars(cls)[name]
    snap = types.ModuleType("_dlbasics_grader_snapshot")
    snap.modules = [(m.__name__, m, dict(vars(m))) for m in mods]
    snap.sys = dict(excepthook=sys.excepthook, displayhook=sys.displayhook, getprofile=sys.getprofile,
                    setprofile=sys.setprofile, settrace=sys.settrace)
    snap.methods = methods
    snap.transformers = (list(shell.ast_transformers), list(shell.input_transformers_post),
                         list(shell.input_transformers_cleanup))
    sys.modules[snap.__name__] = snap
_dlb_snapshot(%r)
del _dlb_snapshot
'''

# Run silently before every autograded test cell: undo whatever the student's code patched.
_RESTORE_CODE = r'''
def _dlb_restore():
    import sys
    snap = sys.modules["_dlbasics_grader_snapshot"]
    for name, mod, saved in snap.modules:
        d = vars(mod)
        for key, value in saved.items():
            if key not in d or d[key] is not value:
                d[key] = value
        sys.modules[name] = mod
    for key, value in snap.sys.items():
        setattr(sys, key, value)
    sys.setprofile(None)
    shell = get_ipython()
    for cls, saved in snap.methods.items():
        for name, value in saved.items():
            if vars(cls).get(name) is not value:
                setattr(cls, name, value)
            for obj in (shell,):
                vars(obj).pop(name, None)
    shell.set_custom_exc((), None)
    shell.ast_transformers[:], shell.input_transformers_post[:], shell.input_transformers_cleanup[:] = (
        list(t) for t in snap.transformers)
_dlb_restore()
del _dlb_restore
'''


@functools.lru_cache(maxsize=None)
def _guarded_execute_class() -> type:
    """nbgrader's Execute, hardened (built lazily: importing nbgrader is slow)."""
    from nbclient.util import ensure_async, run_sync
    from nbgrader.preprocessors import Execute
    from traitlets import Unicode

    class GuardedExecute(Execute):  # type: ignore[misc]
        """Execute that restores a clean kernel state before each test cell and bounds stream output.

        * Before the first cell it snapshots numpy, the test-cell helpers, builtins, ``sys`` hooks and
          IPython's error display; before each autograded test cell it restores them, so a student cell
          that replaced ``np.allclose``, ``numpy.testing.assert_allclose``, ``checks.assert_close``,
          ``call_student``, ``showtraceback`` or ``sys.excepthook`` cannot turn a failure into a pass.
        * nbgrader's own ``on_cell_executed`` adds an error output whenever the kernel's execute_reply
          says ``error``, even if the error display was silenced.
        * Stream output beyond :data:`MAX_OUTPUT_CHARS` per cell is dropped as it arrives.
        * :data:`CURRENT` records the cell being run, so a kernel death or an interrupt that is
          swallowed can be blamed on a cell.
        """

        references_root = Unicode(
            "", help="Folder of recorded PyTorch reference values, one subfolder per assignment "
                     "(dlbasics.course.references); '' or a missing subfolder: kernels compute them."
        ).tag(config=True)

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # nbgrader's Execute.__init__ passes kernel_manager_class=AsyncKernelManager, which beats the
            # config: honour c.Execute.kernel_manager_class (the sandbox, see dlbasics.course.sandbox).
            configured = self.config.Execute.get("kernel_manager_class")
            if configured:
                self.kernel_manager_class = configured

        def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> Any:
            self._dlb_snapshotted = False
            self._dlb_chars: dict[int, int] = {}
            assignment = ((resources or {}).get("nbgrader") or {}).get("assignment")
            # The kernel's references.use() ignores a folder that holds no complete recording.
            self._dlb_references = (os.path.join(self.references_root, str(assignment))
                                    if self.references_root and assignment else None)
            CURRENT.clear()
            return super().preprocess(nb, resources, km)

        async def _dlb_run_silently(self, code: str) -> None:
            msg_id = await ensure_async(self.kc.execute(code, silent=True, store_history=False))
            await self.async_wait_for_reply(msg_id, None)

        async def async_execute_cell(self, cell: Any, cell_index: int, execution_count: Any = None,
                                     store_history: bool = True) -> Any:
            if cell.get("cell_type") == "code" and cell.source.strip():
                meta = nbgrader_meta(cell)
                CURRENT.update(index=cell_index, cell_id=cell.get("id"), grade_id=meta.get("grade_id"),
                               solution=bool(meta.get("solution")), test=is_test_cell(cell))
                if not self._dlb_snapshotted:
                    self._dlb_snapshotted = True
                    refs = self._dlb_references
                    if refs and hasattr(self.km, "path_in_kernel"):  # the sandbox binds it elsewhere
                        refs = self.km.path_in_kernel(refs)
                    await self._dlb_run_silently(_SNAPSHOT_CODE % (refs,))
                if is_test_cell(cell):
                    await self._dlb_run_silently(_RESTORE_CODE)
            return await super().async_execute_cell(cell, cell_index, execution_count, store_history)

        execute_cell = run_sync(async_execute_cell)  # the base class wraps its own coroutine

        def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
            if msg.get("msg_type") == "stream":
                used = self._dlb_chars.get(cell_index, 0)
                text = msg["content"].get("text", "")
                if used > MAX_OUTPUT_CHARS:
                    return None
                if used + len(text) > MAX_OUTPUT_CHARS:
                    msg["content"]["text"] = (text[: MAX_OUTPUT_CHARS - used]
                                              + f"\n... output truncated by the grader (over {MAX_OUTPUT_CHARS} characters) ...\n")
                    used = MAX_OUTPUT_CHARS + 1
                else:
                    used += len(text)
                self._dlb_chars[cell_index] = used
            return super().output(outs, msg, display_id, cell_index)

    return GuardedExecute


def autograde_preprocessors() -> list[Any]:
    """nbgrader's autograde pipeline with :class:`GuardedExecute` in place of its Execute."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern, LimitOutput,
                                        SaveAutoGrades)

    # nbgrader 0.9's Autograde.autograde_preprocessors, with the guarded Execute first.
    return [_guarded_execute_class(), IgnorePattern, ClearMetadataPreprocessor, LimitOutput, SaveAutoGrades,
            AssignLatePenalties, CheckCellMetadata]
