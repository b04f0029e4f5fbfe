"""The grader's error for instructors (every other module may raise it; it imports nothing)."""


class CourseError(RuntimeError):
    """An instructor-facing error with a message that says what to do."""
