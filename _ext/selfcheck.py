"""Self-check questions answered in the browser, without a server.

In a chapter's Markdown::

    :::{selfcheck} What is the derivative of the sigmoid at 0?
    - [ ] 0.5
      The sigmoid's *value* at 0 is 0.5; its slope is smaller.
    - [x] 0.25
      $\\sigma'(0) = \\sigma(0)\\,(1 - \\sigma(0)) = 0.5 \\cdot 0.5$.
    - [ ] 1
      That is the slope of tanh at 0.
    :::

The argument is the question (more paragraphs may follow before the list). The last bullet list
holds the options: ``[x]`` marks a correct one (several may be), ``[ ]`` a wrong one, and whatever
follows an option's first line (the next lines, or paragraphs indented under it) is the explanation, shown when the reader picks that option. On the
page each option is a radio button (a checkbox when several are correct) and a small script
(``selfcheck_static/selfcheck.js``, served from the build: nothing is loaded from elsewhere) says
whether the choice is right and shows its explanation. Without JavaScript every explanation is
shown, marked right or wrong, so the answer is never lost.

A question without exactly one list, or a list whose options are not all marked, is a build error
(a warning, which the book build turns into an error), so a malformed question cannot ship.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


class selfcheck(nodes.General, nodes.Element):
    pass


class selfcheck_option(nodes.General, nodes.Element):
    pass


class selfcheck_explanation(nodes.General, nodes.Element):
    pass


class SelfCheck(SphinxDirective):
    has_content = True
    required_arguments = 1
    final_argument_whitespace = True

    def run(self) -> list[nodes.Node]:
        root = selfcheck()
        root["qid"] = f"dlb-sc-{self.env.new_serialno('selfcheck') + 1}"
        question = nodes.container(classes=["dlb-sc-question"])
        text_nodes, messages = self.state.inline_text(self.arguments[0], self.lineno)
        question += nodes.paragraph("", "", *text_nodes)
        body = nodes.container()
        self.state.nested_parse(self.content, self.content_offset, body)
        lists = [n for n in body.children if isinstance(n, nodes.bullet_list)]
        if len(lists) != 1:
            return [
                self.state.document.reporter.warning(
                    f"selfcheck: expected one bullet list of options, found {len(lists)}", line=self.lineno
                )
            ]
        options_list = lists[0]
        for child in body.children:
            if child is not options_list:
                question += child
        root += question
        options = nodes.container(classes=["dlb-sc-options"])
        n_correct = 0
        for item in options_list.children:
            first = item.children[0] if item.children else None
            if not isinstance(first, nodes.paragraph) or not first.children or not isinstance(first[0], nodes.Text):
                return [
                    self.state.document.reporter.warning(
                        "selfcheck: every option must start with [x] or [ ]", line=self.lineno
                    )
                ]
            head = first[0].astext()
            mark = head[:3].lower()
            if mark not in ("[x]", "[ ]"):
                return [
                    self.state.document.reporter.warning(
                        f"selfcheck: option {head[:30]!r} must start with [x] (right) or [ ] (wrong)", line=self.lineno
                    )
                ]
            first.replace(first[0], nodes.Text(head[3:].lstrip()))
            label, more = _split_first_line(first)
            opt = selfcheck_option()
            opt["correct"] = mark == "[x]"
            n_correct += mark == "[x]"
            opt += label
            expl = selfcheck_explanation()
            if more is not None:
                expl += more
            for rest in item.children[1:]:
                expl += rest
            opt += expl
            options += opt
        if n_correct == 0:
            return [
                self.state.document.reporter.warning(
                    "selfcheck: no option is marked correct with [x]", line=self.lineno
                )
            ]
        root["multiple"] = n_correct > 1
        root += options
        return [root, *messages]


def _split_first_line(par: nodes.paragraph) -> tuple[nodes.paragraph, nodes.paragraph | None]:
    """The option's own text is its first line; the lines after it (same paragraph) explain it."""
    label, rest = nodes.paragraph(), nodes.paragraph()
    target = label
    for child in list(par.children):
        if target is label and isinstance(child, nodes.Text) and "\n" in child.astext():
            before, after = child.astext().split("\n", 1)
            if before:
                label += nodes.Text(before)
            target = rest
            if after:
                rest += nodes.Text(after)
            continue
        target += child.deepcopy()
    return label, (rest if rest.children else None)


def visit_selfcheck(self: Any, node: selfcheck) -> None:
    kind = "Select every correct answer." if node["multiple"] else "Pick one answer."
    self.body.append(
        f'<div class="dlb-selfcheck" id="{node["qid"]}" data-multiple="{int(node["multiple"])}">'
        f'<p class="dlb-sc-title">Self-check <span class="dlb-sc-kind">{kind}</span></p>'
    )


def depart_selfcheck(self: Any, node: selfcheck) -> None:
    self.body.append('<p class="dlb-sc-verdict" role="status" aria-live="polite"></p></div>')


def visit_option(self: Any, node: selfcheck_option) -> None:
    parent = node.parent.parent
    kind = "checkbox" if parent["multiple"] else "radio"
    self.body.append(
        f'<div class="dlb-sc-option" data-correct="{int(node["correct"])}"><label>'
        f'<input type="{kind}" name="{parent["qid"]}"> '
    )
    self._dlb_option_open = True


def depart_option(self: Any, node: selfcheck_option) -> None:
    self.body.append("</div>")


def visit_explanation(self: Any, node: selfcheck_explanation) -> None:
    # the option's text (a paragraph) was just written inside the <label>: close it first
    verdict = "Right." if node.parent["correct"] else "Not this one."
    self.body.append(f'</label><div class="dlb-sc-explanation"><span class="dlb-sc-mark">{verdict}</span> ')


def depart_explanation(self: Any, node: selfcheck_explanation) -> None:
    self.body.append("</div>")


def _skip(self: Any, node: Any) -> None:
    raise nodes.SkipNode


def _static(app: Sphinx) -> None:
    app.config.html_static_path.append(str(Path(__file__).parent / "selfcheck_static"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_node(selfcheck, html=(visit_selfcheck, depart_selfcheck), latex=(_skip, None), text=(_skip, None))
    app.add_node(selfcheck_option, html=(visit_option, depart_option), latex=(_skip, None), text=(_skip, None))
    app.add_node(
        selfcheck_explanation, html=(visit_explanation, depart_explanation), latex=(_skip, None), text=(_skip, None)
    )
    app.add_directive("selfcheck", SelfCheck)
    app.connect("builder-inited", _static)
    app.add_js_file("selfcheck.js")
    app.add_css_file("selfcheck.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
