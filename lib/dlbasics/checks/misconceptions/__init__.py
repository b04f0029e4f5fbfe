"""One module per assignment: ``MISCONCEPTIONS = {id: (plain words, "Chapter › Section")}``.

See :mod:`dlbasics.checks.hints`. Plain words name the mistake and never show code or the answer's
formula; the section is "<chapter title> › <heading>" exactly as the chapter writes them.
"""
