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
