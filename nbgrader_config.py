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

# A cell that runs longer than this is interrupted; the rest of the notebook still runs.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
# Output kept per cell (nbgrader's LimitOutput counts lines; dlbasics.course's hardened Execute, used by
# `dlb grade`, also caps characters per cell and restores a clean kernel state before each test cell).
# Tests and `grade_class(..., timeout=...)` may shorten the time limit; through dlbasics.course.Course a
# value here outside 1..600 s falls back to 60 s, and interrupt_on_timeout is always on.
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100

# Sandbox for student code while grading (`dlb grade`; dlbasics.course.sandbox). Each notebook runs in a
# kernel started under bubblewrap: the course root (solutions/, hidden tests, grading/ with the gradebook and
# every other submission), the repository and the grader's home are hidden; the rest of the filesystem is
# read-only; the kernel writes only to its own scratch directory; no network; limits below. When grading as
# root the kernel also runs under its own unprivileged uid (so max_processes applies).
#   "auto": use bubblewrap if it works here, else grade unsandboxed and say so (a warning, and the summary);
#   "on":   require it (grading stops with an error if bubblewrap is missing or unusable); "off": never.
# `dlb check` (a student checking their own notebook) is never sandboxed.
c.SandboxedKernelManager.mode = "auto"
c.SandboxedKernelManager.bwrap = "bwrap"  # Debian/Ubuntu package `bubblewrap`; a name on PATH or a path
# Address space of the kernel in MiB (RLIMIT_AS; more than resident memory: the reference solutions with
# their PyTorch parity tests need about 1.3 GiB of address space, so 4 GiB leaves a wide margin).
c.SandboxedKernelManager.memory_mb = 4096
# CPU seconds for the whole notebook (RLIMIT_CPU; the kernel is killed beyond it and the notebook re-graded
# without the cell that was running). 0 means 10 x Execute.timeout.
c.SandboxedKernelManager.cpu_seconds = 0
c.SandboxedKernelManager.file_mb = 512  # largest file the kernel may write (RLIMIT_FSIZE)
c.SandboxedKernelManager.tmp_mb = 256  # size of the kernel's private in-memory /tmp and /dev/shm, each
c.SandboxedKernelManager.max_processes = 256  # processes + threads of the kernel's uid (root graders only)
# More directories to hide from student code (the course root, this repository, $HOME and /root always are).
c.SandboxedKernelManager.hidden = []
