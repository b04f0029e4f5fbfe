"""The reuse-or-regrade planner (dlbgrader.manifest.plan): pure, so every rule is tested in milliseconds."""

from __future__ import annotations

from pathlib import Path

from dlbgrader.manifest import Entry, Manifest, changes, grading_dependencies, load, plan, save, triggers_text

FP = {
    "assignment": "a1",
    "config": "c1",
    "timeout": "60",
    "grader": "g1",
    "checks": "k1 asserts",
    "nbgrader": "0.9.6",
    "numpy": "2.4",
    "torch": "2.13.0",
    "kernel": "env",
    "sandbox": "sandboxed (x)",
}


def manifest(**students: Entry) -> Manifest:
    return Manifest("ps1", dict(FP), dict(students), list(students))


def test_unchanged_notebooks_are_kept_and_changed_ones_regraded() -> None:
    old = manifest(ada=Entry("h-ada", "graded"), bo=Entry("h-bo", "graded"), cy=Entry("h-cy", "failed", "invalid"))
    p = plan(["ada", "bo", "cy"], {"ada": "h-ada", "bo": "h-bo2", "cy": "h-cy"}, old, FP, in_gradebook={"ada", "bo"})
    assert p.regrade_all == "" and set(p.keep) == {"ada", "cy"} and p.grade == ["bo"]
    assert p.keep["cy"].reason == "invalid", "a failure is kept with its reason (it needs no gradebook row)"


def test_a_kept_grade_needs_its_gradebook_row_and_its_feedback() -> None:
    old = manifest(ada=Entry("h", "graded"), bo=Entry("h", "graded"))
    p = plan(["ada", "bo"], {"ada": "h", "bo": "h"}, old, FP, in_gradebook={"bo"})
    assert p.grade == ["ada"], "no gradebook row: graded again"
    p = plan(
        ["ada", "bo"], {"ada": "h", "bo": "h"}, old, FP, in_gradebook={"ada", "bo"}, feedback_kept=lambda s: s == "ada"
    )
    assert p.grade == ["bo"], "feedback deleted: graded again"


def test_every_trigger_regrades_everyone_and_says_why() -> None:
    old = manifest(ada=Entry("h", "graded"))
    for key in FP:
        new = {**FP, key: FP[key] + "-changed"}
        p = plan(["ada"], {"ada": "h"}, old, new, in_gradebook={"ada"})
        assert p.grade == ["ada"] and p.keep == {}, key
        assert p.regrade_all, key
    p = plan(["ada"], {"ada": "h"}, old, {**FP, "timeout": "45"}, in_gradebook={"ada"})
    assert p.regrade_all == "the time limit changed (60 s -> 45 s)"
    assert "the assignment's source" in triggers_text() and "the sandbox state" in triggers_text()


def test_force_unreadable_record_and_first_run() -> None:
    old = manifest(ada=Entry("h", "graded"))
    assert plan(["ada"], {"ada": "h"}, old, FP, force=True, in_gradebook={"ada"}).regrade_all == "forced (--force)"
    p = plan(["ada"], {"ada": "h"}, None, FP, had_file=True)
    assert p.regrade_all == "the previous run's record was unreadable" and p.grade == ["ada"]
    p = plan(["ada"], {"ada": "h"}, None, FP)
    assert p.regrade_all == "" and p.grade == ["ada"]


def test_students_no_longer_in_the_input_are_reported() -> None:
    old = manifest(ada=Entry("h", "graded"), bo=Entry("h", "graded"))
    p = plan(["ada"], {"ada": "h"}, old, FP, in_gradebook={"ada"})
    assert p.removed == ["bo"] and "bo" not in p.keep


def test_manifest_round_trip_and_other_formats_are_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    m = manifest(ada=Entry("h", "graded", "", 1.5, "2026-01-01T00:00:00+00:00"))
    save(path, m)
    assert load(path, "ps1") == m
    assert load(path, "ps2") is None, "another assignment's record is not this one's"
    path.write_text('{"version": 1}', encoding="utf-8")
    assert load(path, "ps1") is None
    assert changes(FP, {**FP, "assignment": "a2"}, "ps1") == (
        "the assignment's source changed (solutions/ps1/: tests, points or answers)"
    )


def test_a_new_module_does_not_touch_an_assignment_that_does_not_import_it() -> None:
    deps = {p.stem for p in grading_dependencies(["from dlbasics.checks import assert_close\n"])}
    assert "asserts" in deps and "gradcheck" in deps, "what dlbasics.checks imports counts, transitively"
    plain = grading_dependencies(["import numpy\n"])
    assert "activations" not in {p.parent.name for p in plain}
    assert not any(p.parent.name == "misconceptions" and p.stem != "__init__" for p in plain)
    with_act = grading_dependencies(["from dlbasics.activations import relu_forward\n"])
    assert {p.stem for p in with_act if p.parent.name == "activations"} >= {"__init__", "rectified", "saturating"}
    assert not any(p.stem in ("optim", "losses", "layers", "notebook", "data") for p in with_act)
