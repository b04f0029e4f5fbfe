"""Checks of a whole classifier trained by the student's own code (the capstone of chapter 7).

A capstone test hands the student's ``train_classifier(x_train, y_train, rng)`` the training part of
a split of scikit-learn's handwritten digits and asks the ``predict`` it returns about the images
held back. Training costs far more than a check, so :func:`trained` does it once per function,
split and seed: it records everything the checks need (the labels of the held-back images, asked
twice; a few of them asked one image at a time, and all of them in another order; the labels of the
same images standardized by the grader; whether any input was changed; the time; what the student's
code raised) and hands the same record to every test cell that asks again. The checks read records:

* :func:`check_predictions`: ``predict`` keeps its contract (one integer label from 0 to 9 per
  image; the same labels when asked again, alone or in another order; no input modified);
* :func:`check_accuracy`: the mean accuracy over one or more splits reaches a threshold. When it
  does not, the message names the likely misconception, diagnosed in this order: labels shifted by
  one class, preprocessing forgotten in ``predict`` (the grader's standardized images do much
  better), ``predict`` not in evaluation mode (labels that change), no shuffling (trained again on
  the same images in random order, it does much better), and otherwise a network not trained well
  enough (:class:`ClassifierDiagnosis`).

When grading, ``train_classifier`` is the grader's proxy and ``predict`` a handle to the function in
the student's kernel (:mod:`dlbgrader.proxy`); in a student's own Jupyter both are plain functions.
The records are kept per function object (weakly: they go with it), so a redefined function is
trained again. NumPy only, but :func:`digits_split` loads the data with scikit-learn, which the
grader's process and the course's environment have (the student's kernel, when graded, does not:
the data reach it as arguments).
"""

from __future__ import annotations

import functools
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlbasics.checks.asserts import HintLike, call_student, fail

__all__ = [
    "ClassifierDiagnosis",
    "Split",
    "Trained",
    "check_accuracy",
    "check_predictions",
    "digits_split",
    "trained",
]

#: Images of the held-back part asked about one at a time (the first few).
ALONE = 3
#: How much better (accuracy) a probe must do than the student's own run to be taken as the diagnosis.
PROBE_MARGIN = 0.10


@dataclass(frozen=True)
class Split:
    """A training part and a held-back part of a data set. ``name`` identifies the split in messages and
    in the records of :func:`trained`, ``seed`` is the seed of the generator :func:`trained` hands the
    student's code; the arrays are never modified (every call gets copies)."""

    name: str
    seed: int
    x_train: np.ndarray[Any, Any]
    y_train: np.ndarray[Any, Any]
    x_test: np.ndarray[Any, Any]
    y_test: np.ndarray[Any, Any]

    def shuffled(self, seed: int = 12345) -> Split:
        """The same split with the training examples in a random order (the shuffle probe)."""
        order = np.random.default_rng(seed).permutation(len(self.y_train))
        return Split(
            f"{self.name}, training images in random order",
            self.seed,
            self.x_train[order],
            self.y_train[order],
            self.x_test,
            self.y_test,
        )


@functools.cache
def _digits() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    from sklearn.datasets import load_digits  # type: ignore[import-untyped]  # grader side only

    digits = load_digits()
    return digits.data.astype(np.float64), digits.target.astype(np.int64)


def digits_split(
    seed: int, *, n_test: int = 450, sort_by_label: bool = True
) -> Split:
    """scikit-learn's 1,797 handwritten digits (8 x 8 pixels, grey levels 0 to 16 as float64, labels 0 to 9
    as int64), split at random by ``seed``: ``n_test`` images held back, the others for training, grouped
    by class (sorted by label, in a stable order) if ``sort_by_label``, as data sets are often stored."""
    x, y = _digits()
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    if sort_by_label:
        train = train[np.argsort(y[train], kind="stable")]
    return Split(
        f"split {seed}",
        seed,
        x[train].copy(),
        y[train].copy(),
        x[test].copy(),
        y[test].copy(),
    )


@dataclass
class Trained:
    """What :func:`trained` recorded for one function, split and seed."""

    split: Split
    seed: int
    seconds: float = 0.0
    error: Exception | None = (
        None  # what the student's code raised (or the grader's time limit)
    )
    where: str = ""  # which call raised it
    labels: Any = None  # predict(x_test)
    again: Any = None  # predict(x_test), asked a second time
    alone: list[Any] = field(
        default_factory=list
    )  # predict(x_test[i:i + 1]) for the first ALONE images
    reversed: Any = None  # predict(x_test[::-1])
    standardized: Any = None  # predict of x_test standardized with the training images' mean and std
    modified: list[str] = field(
        default_factory=list
    )  # the inputs the student's code changed

    def valid_labels(self) -> bool:
        """Whether ``labels`` is an integer array with one label from 0 to 9 per held-back image."""
        lab = self.labels
        return (
            isinstance(lab, np.ndarray)
            and lab.shape == self.split.y_test.shape
            and np.issubdtype(lab.dtype, np.integer)
            and bool(np.all((lab >= 0) & (lab <= 9)))
        )

    def accuracy(self, labels: Any = None) -> float:
        """The share of held-back images whose label is right (``labels``: another answer to score)."""
        lab = self.labels if labels is None else labels
        if (
            not isinstance(lab, np.ndarray)
            or lab.shape != self.split.y_test.shape
        ):
            return 0.0
        return float(np.mean(lab == self.split.y_test))

    def __str__(self) -> str:
        if self.error is not None:
            return f"{self.split.name}: {self.where} failed"
        right = (
            int(np.sum(self.labels == self.split.y_test))
            if self.valid_labels()
            else 0
        )
        return (
            f"{self.split.name}: trained in {self.seconds:.2f} s; {right} of {len(self.split.y_test)} "
            f"held-back images right (accuracy {self.accuracy():.3f})"
        )


_RECORDS: weakref.WeakKeyDictionary[Any, dict[tuple[str, int], Trained]] = (
    weakref.WeakKeyDictionary()
)


def _records(fn: Callable[..., Any]) -> dict[tuple[str, int], Trained]:
    try:
        return _RECORDS.setdefault(fn, {})
    except TypeError:  # a callable that cannot be weakly referenced: no memory, train every time
        return {}


def _changed(
    before: np.ndarray[Any, Any], after: np.ndarray[Any, Any]
) -> bool:
    return before.shape != after.shape or before.tobytes() != after.tobytes()


def trained(train_classifier: Callable[..., Any], split: Split) -> Trained:
    """Train ``train_classifier`` on ``split`` with ``np.random.default_rng(split.seed)`` and record what
    its ``predict`` answers; once per function and split (later calls return the record)."""
    seed = split.seed
    records = _records(train_classifier)
    key = (split.name, seed)
    if key in records:
        return records[key]
    run = Trained(split, seed)
    x, y = split.x_train.copy(), split.y_train.copy()
    where = "train_classifier()"
    try:
        t0 = time.perf_counter()
        predict = call_student(
            train_classifier, x, y, np.random.default_rng(seed)
        )
        run.seconds = time.perf_counter() - t0
        run.modified += [
            name
            for name, a, b in (
                ("x_train", split.x_train, x),
                ("y_train", split.y_train, y),
            )
            if _changed(a, b)
        ]
        if not callable(predict):
            raise TypeError(
                f"train_classifier returned a {type(predict).__name__}, not a function"
            )
        where = "the function train_classifier returned"
        x_test = split.x_test.copy()
        run.labels = call_student(predict, x_test)
        if _changed(split.x_test, x_test):
            run.modified.append("the images passed to the returned function")
        run.again = call_student(predict, split.x_test.copy())
        run.alone = [
            call_student(predict, split.x_test[i : i + 1].copy())
            for i in range(ALONE)
        ]
        run.reversed = call_student(predict, split.x_test[::-1].copy())
        mean, std = split.x_train.mean(axis=0), split.x_train.std(axis=0)
        std = np.where(std > 0, std, 1.0)
        run.standardized = call_student(predict, (split.x_test - mean) / std)
    except Exception as exc:  # the student's code (or the time limit): recorded, reported by the checks
        run.error, run.where = exc, where
    records[key] = run
    return run


@dataclass(frozen=True)
class ClassifierDiagnosis:
    """The misconception each finding most likely reveals (a hint per finding; see the module docstring):
    ``contract`` (the function or its labels break the contract, or the student's code raised),
    ``modifies`` (an input was changed), ``evaluation`` (labels change when asked again, alone or in
    another order), ``labels`` (the predictions are the true labels shifted by one class),
    ``preprocessing`` (the grader's standardized images do much better), ``shuffle`` (trained on the same
    images in random order, much better) and ``converges`` (none of these: not trained well enough)."""

    contract: HintLike = None
    modifies: HintLike = None
    evaluation: HintLike = None
    labels: HintLike = None
    preprocessing: HintLike = None
    shuffle: HintLike = None
    converges: HintLike = None


def _raise_recorded(run: Trained, hint: HintLike) -> None:
    exc = run.error
    if exc is None:
        return
    if isinstance(exc, (AssertionError, NotImplementedError)):
        raise exc  # a failed check (e.g. PyTorch used), a time limit, or an answer not written yet
    raise fail(
        f"{run.split.name}: {run.where} raised {type(exc).__name__}: {exc}",
        hint,
    )


def _check_labels(run: Trained, hint: HintLike) -> None:
    lab, n = run.labels, len(run.split.y_test)
    what = f"{run.split.name}: the labels of {n} images"
    if not isinstance(lab, np.ndarray):
        raise fail(
            f"{what}: expected a numpy array, got {type(lab).__name__}", hint
        )
    if lab.shape != (n,):
        raise fail(
            f"{what}: expected shape ({n},), one label per image, got {lab.shape}",
            hint,
        )
    if not np.issubdtype(lab.dtype, np.integer):
        raise fail(
            f"{what}: expected integer labels, got dtype {lab.dtype}", hint
        )
    if not np.all((lab >= 0) & (lab <= 9)):
        raise fail(
            f"{what}: expected labels from 0 to 9, got values from {lab.min()} to {lab.max()}",
            hint,
        )


def _same(a: Any, b: Any) -> bool:
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.shape == b.shape
        and bool(np.all(a == b))
    )


def _consistency_problem(run: Trained) -> str:
    """Why the labels are not a fixed function of each image ('' if they are)."""
    if not _same(run.again, run.labels):
        changed = (
            int(np.sum(run.again != run.labels))
            if isinstance(run.again, np.ndarray)
            and np.shape(run.again) == np.shape(run.labels)
            else len(run.split.y_test)
        )
        return f"asked a second time about the same images, it changed {changed} labels"
    for i, one in enumerate(run.alone):
        if not _same(one, run.labels[i : i + 1]):
            return (
                f"asked about image {i} alone it answered {one!r}, with the other images "
                f"{run.labels[i : i + 1]!r}"
            )
    if not _same(run.reversed, run.labels[::-1]):
        changed = (
            int(np.sum(run.reversed != run.labels[::-1]))
            if isinstance(run.reversed, np.ndarray)
            and np.shape(run.reversed) == np.shape(run.labels)
            else len(run.split.y_test)
        )
        return f"asked about the same images in reverse order, it changed {changed} labels"
    return ""


def check_predictions(
    train_classifier: Callable[..., Any],
    split: Split,
    *,
    diagnosis: ClassifierDiagnosis,
) -> Trained:
    """The contract of ``train_classifier`` and of the ``predict`` it returns, on ``split`` (trained once,
    see :func:`trained`); prints what it measured and returns the record."""
    run = trained(train_classifier, split)
    _raise_recorded(run, diagnosis.contract)
    print(run)
    _check_labels(run, diagnosis.contract)
    if run.modified:
        raise fail(
            f"{split.name}: your code modified {', '.join(run.modified)}",
            diagnosis.modifies,
        )
    for name, answer in (
        ("asked again", run.again),
        ("in reverse order", run.reversed),
        *((f"image {i} alone", a) for i, a in enumerate(run.alone)),
    ):
        if not isinstance(answer, np.ndarray) or not np.issubdtype(
            answer.dtype, np.integer
        ):
            raise fail(
                f"{split.name}: {name}, the function returned {type(answer).__name__} "
                f"{getattr(answer, 'dtype', '')}, not integer labels",
                diagnosis.contract,
            )
    problem = _consistency_problem(run)
    if problem:
        raise fail(
            f"{split.name}: the labels are not a fixed function of each image: {problem}",
            diagnosis.evaluation,
        )
    return run


def _diagnose_low_accuracy(
    train_classifier: Callable[..., Any],
    run: Trained,
    at_least: float,
    diagnosis: ClassifierDiagnosis,
) -> tuple[str, HintLike]:
    """(what was measured, the hint) for a run whose accuracy is below ``at_least``. A probe is taken as the
    diagnosis only if it repairs the run: it reaches ``at_least`` and beats the run by :data:`PROBE_MARGIN`
    (a run that fails for another reason, e.g. a diverging loss, fails the probes too)."""
    acc = run.accuracy()
    for shift in (1, -1):
        shifted = run.accuracy((run.labels + shift) % 10)
        if shifted >= 0.5 and shifted >= acc + 2 * PROBE_MARGIN:
            return (
                f"the labels {'+' if shift > 0 else '-'}1 would be right for {shifted:.1%} of the images",
                diagnosis.labels,
            )
    standardized = run.accuracy(run.standardized)
    if standardized >= max(at_least, acc + PROBE_MARGIN):
        return (
            f"given images already standardized with the training set's mean and standard deviation, the "
            f"function scored {standardized:.1%}",
            diagnosis.preprocessing,
        )
    problem = _consistency_problem(run)
    if problem:
        return (
            f"the labels are not a fixed function of each image ({problem})",
            diagnosis.evaluation,
        )
    shuffled = trained(train_classifier, run.split.shuffled())
    if (
        shuffled.error is None
        and shuffled.valid_labels()
        and shuffled.accuracy() >= max(at_least, acc + PROBE_MARGIN)
    ):
        return (
            f"trained on the same images in random order instead of grouped by class, it scored "
            f"{shuffled.accuracy():.1%}",
            diagnosis.shuffle,
        )
    return "", diagnosis.converges


def check_accuracy(
    train_classifier: Callable[..., Any],
    splits: Sequence[Split],
    *,
    at_least: float,
    diagnosis: ClassifierDiagnosis,
) -> float:
    """The accuracy on the held-back images, averaged over ``splits`` (each trained once, see
    :func:`trained`), is at least ``at_least``; prints it and returns it. A failure names the likely
    misconception (:class:`ClassifierDiagnosis`)."""
    runs = [trained(train_classifier, s) for s in splits]
    for run in runs:
        _raise_recorded(run, diagnosis.contract)
    for run in runs:
        print(run)
        _check_labels(run, diagnosis.contract)
    mean = float(np.mean([run.accuracy() for run in runs]))
    what = (
        "the accuracy"
        if len(runs) == 1
        else f"the mean accuracy over {len(runs)} splits"
    )
    if len(runs) > 1:
        print(f"{what}: {mean:.3f}")
    if mean >= at_least:
        return mean
    worst = min(runs, key=lambda r: r.accuracy())
    finding, hint = _diagnose_low_accuracy(
        train_classifier, worst, at_least, diagnosis
    )
    raise fail(
        f"{what} on the held-back images is {mean:.3f}, below {at_least:.2f}"
        + (f"; {worst.split.name}: {finding}" if finding else ""),
        hint,
    )
