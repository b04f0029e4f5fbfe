"""Deep Learning Basics: NumPy reference implementations and course tooling.

One module per topic (``activations``, ``gradcheck``, ...); the course tooling
(test-cell checks, grading, the ``dlb`` command) lives in :mod:`dlbasics.course`.
"""

__version__ = "0.1.0"
