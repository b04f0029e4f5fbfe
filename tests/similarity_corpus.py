"""Made-up answers for measuring the similarity detector (:mod:`dlbgrader.similarity`).

* :data:`INDEPENDENT`: correct answers written independently of the reference (another formula,
  another NumPy idiom, another order of steps), two per solution cell: what different students who
  all got it right hand in. Together with the reference answers (solutions/), the bug zoo's
  ``ALTERNATIVES`` and the reference package's functions, they are the pairs that must mostly *not*
  be flagged.
* :func:`disguise`: a copy of an answer made to look different, as a student hiding a copy would:
  every bound name renamed, comments and blank lines added, indentation changed, the functions of a
  cell in another order. A copy must be flagged.
"""

from __future__ import annotations

import ast
import io
import random
import re
import tokenize

INDEPENDENT: dict[str, dict[str, list[str]]] = {
    "ps2_activations": {
        "sigmoid": [
            """def sigmoid_forward(x):
    pos = x >= 0
    e = np.exp(np.where(pos, -x, x))
    result = np.empty_like(x)
    result[pos] = 1.0 / (1.0 + e[pos])
    result[~pos] = e[~pos] / (1.0 + e[~pos])
    return result, result


def sigmoid_backward(dout, cache):
    sig = cache
    local = sig - sig ** 2
    return local * dout
""",
            """def sigmoid_forward(x):
    y = 0.5 * (1.0 + np.tanh(0.5 * x))
    return y.astype(x.dtype), y.astype(x.dtype)


def sigmoid_backward(dout, cache):
    grad = cache * (1.0 - cache)
    return grad * dout
""",
        ],
        "tanh": [
            """def tanh_forward(x):
    y = np.tanh(x)
    return y, y


def tanh_backward(dout, cache):
    return dout - dout * cache ** 2
""",
            """def tanh_forward(x):
    t = 2.0 / (1.0 + np.exp(-2.0 * np.clip(x, -40, 40))) - 1.0
    t = t.astype(x.dtype)
    return t, {"t": t}


def tanh_backward(dout, cache):
    t = cache["t"]
    return (1.0 - np.square(t)) * dout
""",
        ],
        "relu": [
            """def relu_forward(x):
    mask = x > 0
    return x * mask, mask


def relu_backward(dout, cache):
    return dout * cache
""",
            """def relu_forward(x):
    y = x.copy()
    y[y < 0] = 0
    return y, x


def relu_backward(dout, cache):
    grad = np.zeros_like(dout)
    grad[cache > 0] = dout[cache > 0]
    return grad
""",
        ],
        "leaky_relu": [
            """def leaky_relu_forward(x, negative_slope=0.01):
    scale = np.where(x > 0, 1.0, negative_slope).astype(x.dtype)
    return x * scale, scale


def leaky_relu_backward(dout, cache):
    return dout * cache
""",
            """def leaky_relu_forward(x, negative_slope=0.01):
    y = np.maximum(x, 0) + negative_slope * np.minimum(x, 0)
    return y, {"x": x, "slope": negative_slope}


def leaky_relu_backward(dout, cache):
    g = np.ones_like(dout)
    g[cache["x"] <= 0] = cache["slope"]
    return g * dout
""",
        ],
        "elu": [
            """def elu_forward(x, alpha=1.0):
    neg = np.minimum(x, 0)
    y = np.maximum(x, 0) + alpha * np.expm1(neg)
    return y.astype(x.dtype), (x, alpha)


def elu_backward(dout, cache):
    x, alpha = cache
    local = np.ones_like(x)
    below = x <= 0
    local[below] = alpha * np.exp(x[below])
    return (dout * local).astype(dout.dtype)
""",
            """def elu_forward(x, alpha=1.0):
    safe = np.clip(x, None, 0.0)
    y = np.where(x > 0, x, alpha * (np.exp(safe) - 1.0))
    return y.astype(x.dtype), {"x": x, "a": alpha}


def elu_backward(dout, cache):
    x, a = cache["x"], cache["a"]
    slope = np.where(x > 0, 1.0, a * np.exp(np.clip(x, None, 0.0)))
    return (slope * dout).astype(dout.dtype)
""",
        ],
        "prelu": [
            """def prelu_forward(x, alpha):
    y = np.maximum(x, 0) + alpha * np.minimum(x, 0)
    return y.astype(x.dtype), (x, alpha)


def prelu_backward(dout, cache):
    x, alpha = cache
    neg = x <= 0
    dx = dout * np.where(neg, alpha, 1.0)
    dalpha = (dout * x * neg).sum(axis=0)
    if alpha.size == 1:
        dalpha = np.array([dalpha.sum()])
    return dx.astype(dout.dtype), dalpha.astype(alpha.dtype)
""",
            """def prelu_forward(x, alpha):
    slope = np.broadcast_to(alpha, x.shape)
    out = x.copy()
    out[x < 0] = (slope * x)[x < 0]
    return out, {"x": x, "alpha": alpha}


def prelu_backward(dout, cache):
    x, alpha = cache["x"], cache["alpha"]
    below = (x < 0).astype(dout.dtype)
    dx = dout * (1 - below) + dout * below * alpha
    da = np.sum(dout * x * below, axis=0)
    if alpha.shape == (1,):
        da = da.sum().reshape(1)
    return dx.astype(dout.dtype), da.astype(alpha.dtype)
""",
        ],
        "maxout": [
            """def maxout_forward(x, w, b):
    n = x.shape[0]
    d, m, k = w.shape
    z = (x @ w.reshape(d, m * k)).reshape(n, m, k) + b
    idx = z.argmax(axis=2)
    out = np.take_along_axis(z, idx[:, :, None], axis=2)[:, :, 0]
    return out.astype(x.dtype), (x, w, idx)


def maxout_backward(dout, cache):
    x, w, idx = cache
    d, m, k = w.shape
    onehot = np.eye(k, dtype=dout.dtype)[idx]
    g = onehot * dout[:, :, None]
    dx = g.reshape(len(x), m * k) @ w.reshape(d, m * k).T
    dw = (x.T @ g.reshape(len(x), m * k)).reshape(d, m, k)
    return dx, dw, g.sum(0)
""",
            """def maxout_forward(x, w, b):
    pieces = np.tensordot(x, w, axes=([1], [0])) + b
    winner = np.argmax(pieces, axis=-1)
    best = pieces.max(axis=-1)
    return best.astype(x.dtype), {"x": x, "w": w, "winner": winner}


def maxout_backward(dout, cache):
    x, w, winner = cache["x"], cache["w"], cache["winner"]
    grad = np.zeros(winner.shape + (w.shape[-1],), dtype=dout.dtype)
    np.put_along_axis(grad, winner[..., None], dout[..., None], axis=-1)
    dx = np.tensordot(grad, w, axes=([1, 2], [1, 2]))
    dw = np.tensordot(x, grad, axes=([0], [0]))
    db = grad.sum(axis=0)
    return dx, dw, db
""",
        ],
    },
    "ps1_foundations": {
        "numerical_gradient": [
            """def numerical_gradient(f, x, h=1e-5):
    g = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    while not it.finished:
        i = it.multi_index
        keep = x[i]
        x[i] = keep + h
        up = f(x)
        x[i] = keep - h
        down = f(x)
        x[i] = keep
        g[i] = (up - down) / (2 * h)
        it.iternext()
    return g
""",
            """def numerical_gradient(f, x, h=1e-5):
    flat = x.reshape(-1)
    result = np.empty(flat.size)
    for j in range(flat.size):
        saved = flat[j]
        try:
            flat[j] = saved + h
            a = float(f(x))
            flat[j] = saved - h
            c = float(f(x))
        finally:
            flat[j] = saved
        result[j] = 0.5 * (a - c) / h
    return result.reshape(x.shape)
""",
        ],
        "linear": [
            """def linear_forward(x, w, b):
    y = np.dot(x, w)
    y += b
    return y, {"x": x, "w": w}


def linear_backward(dout, cache):
    x, w = cache["x"], cache["w"]
    return np.dot(dout, w.T), np.dot(x.T, dout), np.sum(dout, axis=0)
""",
            """def linear_forward(x, w, b):
    out = np.einsum("nd,dm->nm", x, w) + b[None, :]
    return out, (w, x)


def linear_backward(dout, cache):
    w, x = cache
    grad_b = dout.sum(0)
    grad_w = np.einsum("nd,nm->dm", x, dout)
    grad_x = np.einsum("nm,dm->nd", dout, w)
    return grad_x, grad_w, grad_b
""",
        ],
        "gradient_descent": [
            """def gradient_descent(grad_fn, x0, lr, num_steps):
    points = [x0.copy()]
    for _ in range(num_steps):
        points.append(points[-1] - lr * grad_fn(points[-1]))
    return np.stack(points).astype(x0.dtype)
""",
            """def gradient_descent(grad_fn, x0, lr, num_steps):
    path = np.zeros((num_steps + 1, *x0.shape), dtype=x0.dtype)
    path[0] = x0
    step = 0
    while step < num_steps:
        path[step + 1] = path[step] - lr * grad_fn(path[step])
        step += 1
    return path
""",
        ],
    },
}


# ------------------------------------------------------------------------------------ disguises
_NAMES = [
    "data",
    "inp",
    "arr",
    "val",
    "res",
    "tmp",
    "acc",
    "buf",
    "cur",
    "aux",
    "q",
    "r2",
    "zz",
    "tt",
    "holder",
    "grad_in",
    "upstream",
    "saved",
    "result",
    "answer",
    "thing",
    "item",
    "elem",
    "blob",
]


def _bound_names(source: str) -> set[str]:
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    top = {s.name for s in tree.body if isinstance(s, (ast.FunctionDef, ast.ClassDef))}
    return names - top


def rename(source: str, rng: random.Random) -> str:
    """Every argument and local variable renamed (consistently), the layout kept."""
    bound = sorted(_bound_names(source))
    pool = [n for n in _NAMES if n not in bound]
    rng.shuffle(pool)
    mapping = {old: pool[i % len(pool)] + ("" if i < len(pool) else str(i)) for i, old in enumerate(bound)}
    lines = source.splitlines(keepends=True)
    toks = list(tokenize.generate_tokens(io.StringIO(source).readline))
    edits = []
    depth = 0
    for i, t in enumerate(toks):
        if t.type == tokenize.OP and t.string in "([{":
            depth += 1
        elif t.type == tokenize.OP and t.string in ")]}":
            depth -= 1
        if t.type != tokenize.NAME or t.string not in mapping:
            continue
        prev = toks[i - 1].string if i else ""
        nxt = toks[i + 1].string if i + 1 < len(toks) else ""
        # an attribute, or a keyword argument of a call: the callee's name, not ours (a keyword
        # argument of a def is ours: it is renamed with the others)
        if (prev == "." or (depth > 0 and nxt == "=" and prev in ("(", ","))) and not _in_def_header(toks, i):
            continue
        edits.append((t.start, t.end, mapping[t.string]))
    for (r0, c0), (_, c1), new in sorted(edits, reverse=True):
        line = lines[r0 - 1]
        lines[r0 - 1] = line[:c0] + new + line[c1:]
    return "".join(lines)


def _in_def_header(toks: list[tokenize.TokenInfo], i: int) -> bool:
    for t in reversed(toks[:i]):
        if t.type == tokenize.NEWLINE:
            return False
        if t.type == tokenize.NAME and t.string == "def":
            return True
    return False


_COMMENTS = [
    "# compute the result",
    "# careful with the shapes here",
    "# TODO: double-check",
    "# this is the key step",
    "# as in the lecture",
    "# keep a copy for later",
    "# done",
]


def add_comments(source: str, rng: random.Random) -> str:
    """Comment lines and blank lines added between statements, trailing comments on some lines."""
    out: list[str] = []
    for line in source.splitlines():
        stripped = line.strip()
        indent = line[: len(line) - len(line.lstrip())]
        if (
            stripped
            and not stripped.startswith(("#", '"', "'", ")", "]", "}"))
            and rng.random() < 0.3
            and out[-1:] != [""]
            and not (out and out[-1].rstrip().endswith(("(", ",", "\\")))
        ):
            out.append(indent + rng.choice(_COMMENTS))
        if stripped and rng.random() < 0.2 and not stripped.endswith(('"""', "'''", ":", ",", "(", "\\")):
            line = line + "  " + rng.choice(_COMMENTS)
        out.append(line)
        if stripped and rng.random() < 0.15:
            out.append("")
    return "\n".join(out) + "\n"


def reindent(source: str) -> str:
    """Four-space indentation made two-space (the code means the same)."""
    return (
        "\n".join(re.sub(r"^((?:    )+)", lambda m: "  " * (len(m.group(1)) // 4), ln) for ln in source.splitlines())
        + "\n"
    )


def reorder(source: str, rng: random.Random) -> str:
    """The top-level functions of a cell in another order (reversed if there are two)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    blocks = []
    for s in tree.body:
        start = min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])])
        blocks.append("\n".join(lines[start - 1 : s.end_lineno]))
    if len(blocks) > 1:
        order = list(range(len(blocks)))
        while order == sorted(order):
            rng.shuffle(order)
        blocks = [blocks[i] for i in order]
    return "\n\n\n".join(blocks) + "\n"


def disguise(source: str, seed: int) -> str:
    """A copy of ``source`` made to look different: renamed, reordered, commented, re-indented."""
    rng = random.Random(seed)
    out = reorder(rename(source, rng), rng)
    out = add_comments(out, rng)
    out = reindent(out)
    ast.parse(out)  # still Python
    return out


def add_statements(source: str, rng: random.Random) -> str:
    """One harmless statement added at the top of every function's body (``n_rows = np.shape(arg)``):
    a copy edited a little, not only disguised."""
    tree = ast.parse(source)
    lines = source.splitlines()
    inserts: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.args.args:
            first = node.body[0]
            doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            at = (first.end_lineno if doc else first.lineno - 1) or 0
            body_line = lines[node.body[-1].lineno - 1]
            indent = body_line[: len(body_line) - len(body_line.lstrip())]
            name = rng.choice(["n_rows", "dims", "shp", "size_info"])
            inserts.append((at, f"{indent}{name} = np.shape({node.args.args[0].arg})"))
    for at, text in sorted(inserts, reverse=True):
        lines.insert(at, text)
    return "\n".join(lines) + "\n"


def disguise_and_edit(source: str, seed: int) -> str:
    """:func:`disguise` after :func:`add_statements`."""
    return disguise(add_statements(source, random.Random(seed + 1)), seed)
