"""The course's host-side grader: releasing assignments, grading a class with nbgrader, the ``dlb`` command.

It runs on the instructor's machine, never in a student's kernel. Student notebooks run in a
sandboxed kernel (:mod:`dlbgrader.sandbox`) from an environment with NumPy and matplotlib only
(:mod:`dlbgrader.kernel`); the test cells run here (:mod:`dlbgrader.execute`), calling the student's
functions through proxies (:mod:`dlbgrader.proxy`, :mod:`dlbgrader.agent`). This package imports
``dlbasics`` (the check helpers the test cells use); ``dlbasics`` never imports it.
"""
