"""nbgrader configuration for the course.

solutions/ is nbgrader's source directory (instructor versions with solutions and
hidden tests); exercises/ is its release directory (the student versions, committed).
Everything produced while grading lives under grading/, which git ignores.
"""

import os

c = get_config()  # type: ignore[name-defined]  # noqa: F821  (injected by traitlets)

_here = os.path.dirname(os.path.abspath(__file__))

c.CourseDirectory.course_id = "dlbasics"
c.CourseDirectory.root = _here
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.submitted_directory = os.path.join("grading", "submitted")
c.CourseDirectory.autograded_directory = os.path.join("grading", "autograded")
c.CourseDirectory.feedback_directory = os.path.join("grading", "feedback")
c.CourseDirectory.db_url = "sqlite:///" + os.path.join(_here, "grading", "gradebook.db")

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Grading settings. `dlb grade` uses this file as written; every value is checked (a bad one is an error
# that says what is allowed), and `dlb grade --timeout/--sandbox` override the two named. The list, with
# defaults, is in dlbgrader/settings.py (and the README).
#
# Time: a cell may run this long (a test cell: its calls may keep the student's kernel busy this long)
# before it is interrupted; the rest of the notebook still runs. A whole notebook gets notebook_timeout.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.DrivenExecute.notebook_timeout = 600
# Kernel restarts per notebook (after a crash or a hang, each costs the test that was running) before the
# rest of the notebook is given up.
c.DrivenExecute.max_restarts = 5
# Output kept, whatever its type (text, images, HTML, errors): per cell, and per notebook.
c.DrivenExecute.output_chars = 100_000
c.DrivenExecute.notebook_output_chars = 1_000_000
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
# Submissions: a notebook file larger than this (MiB), or with more cells, is not graded (its row says why).
c.Grading.max_notebook_mb = 20
c.Grading.max_cells = 2000

# The Python that runs students' notebooks: '' is the kernel environment `dlb kernel-env` makes (NumPy,
# matplotlib, ipykernel; no PyTorch, no course package). A path here uses another.
c.GradingKernelManager.python = ""

# Sandbox for student code while grading (`dlb grade`; dlbgrader/sandbox.py). Each notebook's kernel runs
# under bubblewrap with an allow-list file system: only /usr, the loader's files and the kernel's Python are
# visible (read-only); it writes only to in-memory folders of bounded size; no network; limits below. When
# grading as root the kernel also runs under its own unprivileged uid (so max_processes applies).
#   "auto": use bubblewrap if it works here, else grade unsandboxed and say so (a warning, and the summary);
#   "on":   require it (grading stops with an error if bubblewrap is missing or unusable); "off": never.
# `dlb check` (a student checking their own notebook) is never sandboxed.
c.SandboxedKernelManager.mode = "auto"
c.SandboxedKernelManager.bwrap = "bwrap"  # Debian/Ubuntu package `bubblewrap`; a name on PATH or a path
# Address space of a kernel in MiB (RLIMIT_AS; the kernel environment's reference answers need ~0.5 GiB).
c.SandboxedKernelManager.memory_mb = 2048
# CPU seconds of one kernel (RLIMIT_CPU; a kernel killed by it is restarted, and the test that was running
# fails). 0 means 10 x Execute.timeout.
c.SandboxedKernelManager.cpu_seconds = 0
c.SandboxedKernelManager.file_mb = 256  # largest file the kernel may write (RLIMIT_FSIZE)
c.SandboxedKernelManager.tmp_mb = 256  # size of each in-memory /tmp, /dev/shm, working folder and home
c.SandboxedKernelManager.max_processes = 256  # processes + threads of the kernel's uid (root graders only)
