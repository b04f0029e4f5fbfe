"""The class report as one self-contained HTML page (works offline: nothing is loaded from anywhere).

Every student-controlled string (ids, reasons, code) is escaped. The page has no inline event
handlers; its one script (sorting the students × tests matrix) is allowed by its SHA-256 hash in the
Content-Security-Policy, which forbids every other script, every external load, forms and ``<base>``.
Charts are inline SVG (:mod:`dlbgrader.charts`).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
from collections.abc import Iterable
from html import escape
from pathlib import Path
from urllib.parse import quote

from dlbgrader import charts, classreport, similarity
from dlbgrader.classreport import ClassReport
from dlbgrader.course import Course
from dlbgrader.report import GradingRun

SORT_SCRIPT = """(function () {
  var table = document.getElementById("matrix");
  if (!table) { return; }
  var body = table.tBodies[0];
  var state = document.getElementById("sort-state");
  var last = "";
  function value(row, key) { return row.getAttribute("data-" + key) || ""; }
  function sortBy(key, numeric, label) {
    var desc = (last === key) ? !table.classList.contains("desc") : (key === "score" ? true : false);
    last = key;
    table.classList.toggle("desc", desc);
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = value(a, key), y = value(b, key), c;
      if (numeric) { c = parseFloat(x) - parseFloat(y); } else { c = x < y ? -1 : (x > y ? 1 : 0); }
      if (c === 0) { c = value(a, "student") < value(b, "student") ? -1 : 1; return c; }
      return desc ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    state.textContent = "sorted by " + label + (desc ? ", highest first" : ", lowest first");
  }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-sort]"), function (b) {
    b.addEventListener("click", function () {
      sortBy(b.getAttribute("data-sort"), b.getAttribute("data-numeric") === "1", b.textContent);
    });
  });
  var pick = document.getElementById("sort-test");
  pick.addEventListener("change", function () {
    if (pick.value) { last = ""; sortBy(pick.value, true, pick.options[pick.selectedIndex].text); }
  });
})();"""

STYLE = """
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); }
main { max-width: 1100px; margin: 0 auto; padding: 12px 16px 48px; }
h1 { font-size: 1.5rem; margin: .4em 0 .2em; } h2 { font-size: 1.2rem; margin: 1.6em 0 .4em;
  border-bottom: 1px solid var(--line); padding-bottom: .2em; }
.muted { color: var(--muted); } .small { font-size: .88rem; }
.chart { width: 100%; max-width: 760px; height: auto; display: block; }
.chart-box { overflow-x: auto; max-width: 100%; } .chart-box .chart { min-width: 540px; }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: .9rem; }
th, td { padding: 3px 7px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.wrap td { overflow-wrap: break-word; } #misconception-table summary { white-space: nowrap; }
#misconception-table td:first-child { min-width: 9em; }
.stats { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: .5em 0; }
#matrix th.test { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap;
  font-weight: normal; font-size: .8rem; padding: 6px 2px; }
#matrix td.c { text-align: center; min-width: 2.1em; font-variant-numeric: tabular-nums; }
#matrix td.full { background: #dcfce7; } #matrix td.part { background: #fef9c3; }
#matrix td.zero { background: #fecaca; } #matrix td.na { background: #f3f4f6; color: var(--muted); }
#matrix tr.failed td { color: var(--muted); font-style: italic; }
#matrix th.student, #matrix td.student { position: sticky; left: 0; background: #fff; z-index: 1; }
.controls { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: .5em 0; }
button, select { font: inherit; font-size: .9rem; padding: 3px 10px; border: 1px solid #9ca3af;
  border-radius: 5px; background: #f9fafb; color: var(--ink); max-width: 100%; }
.sbs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; }
.sbs > div { min-width: 0; }
pre { background: #f8fafc; border: 1px solid var(--line); border-radius: 5px; padding: 8px; overflow-x: auto;
  font-size: .8rem; line-height: 1.35; margin: .3em 0; }
details { margin: .4em 0; } summary { cursor: pointer; }
.tag { display: inline-block; font-size: .78rem; padding: 0 6px; border-radius: 9px; background: #ffedd5;
  margin: 1px 2px 1px 0; }
@media (max-width: 700px) { .sbs { grid-template-columns: minmax(0, 1fr); } main { padding: 8px 10px 40px; }
  #misconception-table tr, #misconception-table td { display: block; border: 0; padding: 1px 6px; }
  #misconception-table tr { border-bottom: 1px solid var(--line); padding: 6px 0; }
  #misconception-table tr:first-child { display: none; } #misconception-table td.num { text-align: left; }
  #misconception-table td[data-label]::before { content: attr(data-label) ": "; color: var(--muted); } }
"""


def script_hash() -> str:
    return base64.b64encode(hashlib.sha256(SORT_SCRIPT.encode("utf-8")).digest()).decode("ascii")


def csp() -> str:
    return (
        f"default-src 'none'; script-src 'sha256-{script_hash()}'; style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; base-uri 'none'; form-action 'none'"
    )


def e(x: object) -> str:
    return escape(str(x), quote=True)


def _num(x: float) -> str:
    return f"{x:g}"


def _student(rep: ClassReport, student: str) -> str:
    href = rep.feedback.get(student)
    if href:
        return f'<a href="feedback/{e(quote(student, safe=""))}.html">{e(student)}</a>'
    return e(student)


def _chart(svg: str) -> str:
    """A chart in a box of its own: on a phone it keeps a legible size and scrolls sideways inside the box."""
    return f'<div class="chart-box">{svg}</div>'


def _scores(rep: ClassReport) -> str:
    st = rep.stats()
    graded, failed = rep.graded, rep.failed
    out = [
        (
            f'<h2 id="scores">Scores</h2><p>{len(rep.run)} submissions: <b>{len(graded)}</b> graded, '
            f"<b>{len(failed)}</b> could not be graded. Maximum {_num(rep.max_score)} points.</p>"
        )
    ]
    if st:
        out.append(
            '<div class="stats">'
            + "".join(
                f'<div>{label}<br><b class="stat" data-stat="{k}">{st[k]:.2f}</b></div>'
                for k, label in (
                    ("mean", "mean"),
                    ("median", "median"),
                    ("stdev", "standard deviation"),
                    ("min", "min"),
                    ("max", "max"),
                    ("mean_all", "mean, could-not-grade as 0"),
                )
            )
            + "</div>"
        )
        out.append(_chart(charts.histogram([r.score for r in graded], rep.max_score, failed=len(failed))))
    if failed:
        rows = "".join(f"<tr><td>{e(r.student)}</td><td>{e(r.reason)}</td></tr>" for r in failed)
        out.append(
            f'<h3>Could not be graded ({len(failed)})</h3><div class="scroll"><table class="wrap" '
            f'id="failed"><tr><th>student</th><th>why</th></tr>{rows}</table></div>'
        )
    return "".join(out)


def _tests(rep: ClassReport) -> str:
    tests = rep.tests
    if not tests:
        return ""
    svg = charts.pass_rates(
        [f"{t.component}  ({t.name})" for t in tests],
        [t.rate for t in tests],
        [t.function for t in tests],
        [f"{t.passed}/{t.graded}" for t in tests],
    )
    rows = "".join(
        f'<tr data-test="{e(t.name)}"><td>{e(t.function)}</td><td>{e(t.component)}</td><td>{e(t.name)}</td>'
        f'<td class="num">{_num(t.points)}</td><td class="num">{t.passed}/{t.graded}</td></tr>'
        for t in tests
    )
    return (
        f'<h2 id="tests">Tests</h2><p class="muted small">Share of the graded students with full points on '
        f"each test, grouped by the function it tests.</p>{_chart(svg)}<details><summary>as a table</summary>"
        f'<div class="scroll"><table id="passrates"><tr><th>function</th><th>component</th><th>test</th>'
        f'<th class="num">points</th><th class="num">passed</th></tr>{rows}</table></div></details>'
    )


def _cell_class(points: float | None, max_points: float | None) -> str:
    if points is None or max_points is None:
        return "na"
    return "full" if points >= max_points else ("zero" if points <= 0 else "part")


def _matrix(rep: ClassReport) -> str:
    cells = rep.cells
    maxes = dict(rep.run.cell_max)
    head = "".join(f'<th class="test" title="{e(c)}">{e(c.removeprefix("test_"))}</th>' for c in cells)
    options = "".join(f'<option value="t{i}">{e(c)}</option>' for i, c in enumerate(cells))
    body = []
    for r in rep.run:
        attrs = [f'data-student="{e(r.student)}"', f'data-score="{_num(r.score)}"']
        tds = []
        for i, c in enumerate(cells):
            v = r.cells.get(c, 0.0)
            text = "" if v is None else _num(v or 0.0)  # exactly as grades.csv writes it
            attrs.append(f'data-t{i}="{"-1" if v is None else _num(v or 0.0)}"')
            cls = "na" if r.status != "graded" else _cell_class(v, maxes.get(c))
            tds.append(f'<td class="c {cls}" data-cell="{e(c)}">{text}</td>')
        tags = "".join(f'<span class="tag">{e(m)}</span>' for m in rep.diagnoses.get(r.student, []))
        status = "" if r.status == "graded" else ' <span class="muted small">(not graded)</span>'
        if r.status != "graded":
            attrs.append('class="failed"')
        body.append(
            f"<tr {' '.join(attrs)}>"
            f'<td class="student">{_student(rep, r.student)}{status}</td><td class="num score">{_num(r.score)}'
            f'</td><td class="diag">{tags}</td>{"".join(tds)}</tr>'
        )
    return (
        f'<h2 id="matrix-title">Students × tests</h2><p class="muted small">Points per test as in grades.csv '
        f"(green: full, yellow: partial, red: none, grey: not graded or awaiting a person). A student's name "
        f"opens their feedback.</p>"
        f'<div class="controls"><button type="button" data-sort="student">student</button>'
        f'<button type="button" data-sort="score" data-numeric="1">score</button>'
        f'<label>test <select id="sort-test"><option value="">choose a test</option>{options}</select></label>'
        f'<span id="sort-state" class="muted small">in input order</span></div>'
        f'<div class="scroll" id="matrix-box"><table id="matrix"><thead><tr><th class="student">student</th>'
        f'<th class="num">score</th><th>misconceptions</th>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
        f"</table></div>"
    )


def _misconceptions(rep: ClassReport) -> str:
    ms = rep.misconceptions
    graded = len(rep.graded)
    out = ['<h2 id="misconceptions">Misconceptions</h2>']
    if not ms:
        out.append("<p>No failed check named a misconception.</p>")
    else:
        out.append(
            '<p class="muted small">From the failed checks of the autograded notebooks: each names the '
            "likely misconception behind it. Counted once per student.</p>"
            + _chart(charts.misconception_bars([m.id for m in ms], [len(m.students) for m in ms], graded))
        )
        rows = []
        for m in ms:
            who = ", ".join(e(s) for s in m.students)
            unknown = "" if m.known else ' <span class="muted small">(not in the assignment\'s table)</span>'
            rows.append(
                f'<tr data-misconception="{e(m.id)}"><td><b>{e(m.id)}</b>{unknown}</td><td>{e(m.text)}</td>'
                f'<td data-label="revisit">{e(m.section)}</td><td class="num" data-label="students">{len(m.students)}</td>'
                f'<td class="num" data-label="failed checks">{m.checks}</td>'
                f"<td><details><summary>{len(m.students)} students</summary>{who}</details></td></tr>"
            )
        out.append(
            '<div class="scroll"><table class="wrap" id="misconception-table"><tr><th>id</th><th>in plain '
            'words</th><th>revisit</th><th class="num">students</th><th class="num">failed checks</th>'
            f"<th>who</th></tr>{''.join(rows)}</table></div>"
        )
    if rep.unexplained:
        n = sum(len(v) for v in rep.unexplained.values())
        who = ", ".join(f"{e(s)} ({e(', '.join(c))})" for s, c in rep.unexplained.items())
        k = len(rep.unexplained)
        out.append(
            f"<details><summary>{n} failed test{'s' if n != 1 else ''} of {k} student{'s' if k != 1 else ''} "
            f"named no misconception "
            f'(e.g. an answer not written, a time limit)</summary><p class="small">{who}</p></details>'
        )
    if rep.unread:
        out.append(f'<p class="small muted">No autograded notebook found for: {e(", ".join(rep.unread))}.</p>')
    return "".join(out)


def _code_pair(left_title: str, left: str, right_title: str, right: str) -> str:
    return (
        f'<div class="sbs"><div><b>{e(left_title)}</b><pre><code>{e(left)}</code></pre></div>'
        f"<div><b>{e(right_title)}</b><pre><code>{e(right)}</code></pre></div></div>"
    )


def _per_unit(m: similarity.Match) -> str:
    """A short account of the functions: how many are the same after normalization, and the least similar."""
    if not m.per_unit:
        return "no function in common"
    same = sum(v >= 0.999 for v in m.per_unit.values())
    low, score = min(m.per_unit.items(), key=lambda kv: kv[1])
    rest = "" if score >= 0.999 else f"; least similar: {e(low)} {score:.2f}"
    return f"{same} of {len(m.per_unit)} functions the same{rest}"


def _similarity(rep: ClassReport) -> str:
    out = [
        (
            f'<h2 id="similarity">Similar submissions</h2><p class="muted small">Answer code (the solution cells) '
            f"compared after normalization (names, comments, formatting and the order of functions do not count; "
            f"the starter code is ignored): winnowed {similarity.K}-grams of tokens, as MOSS. Score: the Jaccard "
            f"index of the fingerprints (1.00 = the same code). Listed from {similarity.THRESHOLD:.2f}. A high "
            f"score is a reason to look, not a proof.</p>"
        )
    ]
    pairs = rep.pairs[:40]
    if pairs:
        items = []
        for m in pairs:
            a, b = rep.answers[m.a], rep.answers[m.b]
            items.append(
                f'<details class="pair" data-a="{e(m.a)}" data-b="{e(m.b)}"><summary><b>{m.score:.2f}</b> '
                f'{e(m.a)} ↔ {e(m.b)} <span class="muted small">({m.shared} shared fingerprints; '
                f"{_per_unit(m)})</span></summary>{_code_pair(m.a, a.source, m.b, b.source)}</details>"
            )
        more = f'<p class="small">... and {len(rep.pairs) - len(pairs)} more pairs.</p>' if len(rep.pairs) > 40 else ""
        out.append(f"<h3>Pairs of students ({len(rep.pairs)})</h3>{''.join(items)}{more}")
    else:
        out.append("<p>No pair of students above the threshold.</p>")
    if rep.pairs_left_out:
        out.append(
            f'<p class="small muted">{rep.pairs_left_out} pairs in which both answers match the reference '
            "source are not listed again.</p>"
        )
    if rep.reference:
        items = []
        for m in rep.reference[:40]:
            mine = rep.answers[m.a]
            shown = "\n\n".join(u.source for n, u in mine.units.items() if n in m.per_unit)
            items.append(
                f'<details class="refmatch" data-student="{e(m.a)}"><summary><b>{m.score:.2f}</b> {e(m.a)} ↔ '
                f'reference package <span class="muted small">({_per_unit(m)})</span>'
                f"</summary>{_code_pair(m.a, shown, 'dlbasics (reference)', _reference_source(m, rep.reference_source))}</details>"
            )
        out.append(f"<h3>Near-identical to the reference package's source ({len(rep.reference)})</h3>{''.join(items)}")
    else:
        out.append("<p>No submission near-identical to the reference package's source.</p>")
    return "".join(out)


def _reference_source(m: similarity.Match, ref: similarity.Answer | None) -> str:
    if ref is None:
        return ""
    return "\n\n".join(u.source for n, u in ref.units.items() if n in m.per_unit)


def _run(rep: ClassReport) -> str:
    run = rep.run
    regraded = [r for r in run if not r.reused]
    per = [r.seconds for r in run if r.status == "graded" and r.seconds]
    wall = f"{rep.wall_seconds:.1f} s for the run; " if rep.wall_seconds is not None else ""
    mean = f"{sum(per) / len(per):.2f} s per graded submission on average" if per else "no timing recorded"
    sandbox = run.sandbox or ("sandboxed" if run.sandboxed else "not recorded")
    return (
        f'<h2 id="run">The grading run</h2><table class="wrap" id="run-facts">'
        f"<tr><th>grading time</th><td>{wall}{mean}; {len(regraded)} graded in this run, "
        f"{len(run) - len(regraded)} kept from an earlier one</td></tr>"
        f'<tr><th>sandbox</th><td data-sandboxed="{"yes" if run.sandboxed else "no"}">'
        f"<b>{'on' if run.sandboxed else 'OFF'}</b>: {e(sandbox)}</td></tr>"
        f"<tr><th>student kernels</th><td>{e(run.kernel or 'not recorded')}</td></tr>"
        f"<tr><th>this report</th><td>built in {rep.build_seconds:.2f} s (diagnosis and similarity) on "
        f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}</td></tr></table>"
    )


def render(rep: ClassReport) -> str:
    """The whole page."""
    nav = " · ".join(
        f'<a href="#{k}">{v}</a>'
        for k, v in (
            ("scores", "scores"),
            ("tests", "tests"),
            ("matrix-title", "students × tests"),
            ("misconceptions", "misconceptions"),
            ("similarity", "similarity"),
            ("run", "run"),
        )
    )
    parts: Iterable[str] = (_scores(rep), _tests(rep), _matrix(rep), _misconceptions(rep), _similarity(rep), _run(rep))
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp()}">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="referrer" content="no-referrer">'
        f"<title>{e(rep.assignment)}: class report</title><style>{STYLE}</style></head><body><main>"
        f'<h1>{e(rep.assignment)}: class report</h1><p class="small">{nav} · files: '
        f'<a href="grades.csv">grades.csv</a>, <a href="canvas.csv">canvas.csv</a>, '
        f'<a href="moodle.csv">moodle.csv</a></p>'
        f"{''.join(parts)}</main><script>{SORT_SCRIPT}</script></body></html>\n"
    )


def write(
    course: Course,
    assignment: str,
    run: GradingRun,
    cells: list[str],
    out_dir: Path,
    *,
    wall_seconds: float | None = None,
) -> Path:
    """Write ``report.html``, ``canvas.csv`` and ``moodle.csv`` into ``out_dir``; return the report's path."""
    from dlbgrader import lms

    rep = classreport.build(course, assignment, run, cells, out_dir=out_dir, wall_seconds=wall_seconds)
    out_dir.mkdir(parents=True, exist_ok=True)
    lms.write_canvas(out_dir / "canvas.csv", assignment, run)
    lms.write_moodle(out_dir / "moodle.csv", assignment, run)
    path = out_dir / "report.html"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render(rep), encoding="utf-8")
    tmp.replace(path)
    return path
