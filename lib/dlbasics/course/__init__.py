"""Course tooling: checks used by exercise test cells, the reference-call guard,
releasing and grading assignments with nbgrader, and the ``dlb`` command."""
