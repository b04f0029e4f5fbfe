"""Known-wrong answers to ps1_foundations, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps1_foundations``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.
"""

from __future__ import annotations

from tests.bugzoo import Bug

NUMGRAD_ALL = frozenset({"test_numgrad_values", "test_numgrad_restores", "test_numgrad_h"})
LINEAR_GRADS = frozenset({"test_linear_backward", "test_linear_edge", "test_linear_torch"})
GD_VALUES = frozenset({"test_gd_values", "test_gd_torch"})

BUGS: list[Bug] = [
    Bug(
        name="numgrad_forward_difference",
        cell="numerical_gradient",
        old="""            x[i] = old - h
            f_minus = float(f(x))
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * h)""",
        new="""            x[i] = old
            f_zero = float(f(x))
        finally:
            x[i] = old
        grad[i] = (f_plus - f_zero) / h""",
        loses=frozenset({"test_numgrad_values", "test_numgrad_h"}),
        why="a forward difference has O(h) error: about 1e-5 relative at h=1e-5, and 3*x*h extra at h=1e-2",
        misconception="central_difference",
    ),
    Bug(
        name="numgrad_no_restore",
        cell="numerical_gradient",
        old="""        finally:
            x[i] = old
""",
        new="""        finally:
            pass
""",
        loses=frozenset({"test_numgrad_restores", "test_numgrad_values"}),
        why="x is left at old - h; later partial derivatives of a coupled f (x @ A @ x) are taken at a shifted point",
        misconception="numgrad_restore",
    ),
    Bug(
        name="numgrad_arithmetic_restore",
        cell="numerical_gradient",
        old="""            x[i] = old + h
            f_plus = float(f(x))
            x[i] = old - h
            f_minus = float(f(x))
        finally:
            x[i] = old""",
        new="""            x[i] += h
            f_plus = float(f(x))
            x[i] -= 2 * h
            f_minus = float(f(x))
        finally:
            x[i] += h""",
        loses=frozenset({"test_numgrad_restores"}),
        why="x + h - 2h + h is not bit-for-bit x in floating point; the gradient values are still fine",
        misconception="numgrad_bit_exact",
    ),
    Bug(
        name="numgrad_ignores_h",
        cell="numerical_gradient",
        old="    grad = np.zeros_like(x)\n",
        new="    grad = np.zeros_like(x)\n    h = 1e-5\n",
        loses=frozenset({"test_numgrad_h"}),
        why="a hard-coded step ignores the h argument: sum(x**3) at h=1e-2 must give 3x^2 + 1e-4",
        misconception="numgrad_step",
    ),
    Bug(
        name="numgrad_float64_result",
        cell="numerical_gradient",
        old="    grad = np.zeros_like(x)\n",
        new="    grad = np.zeros(x.shape)\n",
        loses=frozenset({"test_numgrad_restores"}),
        why="np.zeros defaults to float64, so a float32 x gets a float64 gradient",
        misconception="keeps_dtype",
    ),
    Bug(
        name="numgrad_calls_reference",
        cell="numerical_gradient",
        old="    grad = np.zeros_like(x)\n",
        new="    from dlbasics.gradcheck import numerical_gradient as reference\n"
        "    return reference(f, x, h)\n    grad = np.zeros_like(x)\n",
        loses=NUMGRAD_ALL,
        why="handing the work to the course's reference implementation earns no points",
        misconception="uses_reference",
    ),
    Bug(
        name="linear_db_not_summed",
        cell="linear",
        old="    db = dout.sum(axis=0)\n",
        new="    db = dout\n",
        loses=LINEAR_GRADS,
        why="b is broadcast over the batch, so db must sum dout over axis 0; dout has shape (N, M), not (M,)",
        misconception="linear_db_sum",
    ),
    Bug(
        name="linear_dw_no_transpose",
        cell="linear",
        old="    dw = x.T @ dout\n",
        new="    dw = x @ dout\n",
        loses=LINEAR_GRADS,
        why="(N, D) @ (N, M) is a shape error (or, when N == D, the wrong numbers)",
        misconception="linear_chain_rule",
    ),
    Bug(
        name="linear_db_mean",
        cell="linear",
        old="    db = dout.sum(axis=0)\n",
        new="    db = dout.mean(axis=0)\n",
        loses=LINEAR_GRADS,
        why="b is added to every row, so each row's gradient adds up: sum over the batch, not the mean",
        misconception="linear_db_sum",
    ),
    Bug(
        name="linear_forward_upcasts",
        cell="linear",
        old="    out = x @ w + b\n",
        new="    out = x.astype(np.float64) @ w + b\n",
        loses=frozenset({"test_linear_edge"}),
        why="float32 inputs give a float64 output; float64 values are unaffected",
        misconception="keeps_dtype",
    ),
    Bug(
        name="gd_no_x0_row",
        cell="gradient_descent",
        old="return trajectory",
        new="return trajectory[1:]",
        loses=frozenset({"test_gd_shape", "test_gd_values", "test_gd_torch"}),
        why="the trajectory must start with x0: shape (num_steps + 1, *x0.shape)",
        misconception="gd_trajectory",
    ),
    Bug(
        name="gd_modifies_x0",
        cell="gradient_descent",
        old="""    x = x0.copy()
    for k in range(num_steps):
        x = x - lr * grad_fn(x)""",
        new="""    x = x0
    for k in range(num_steps):
        x -= lr * grad_fn(x)""",
        loses=frozenset({"test_gd_shape"}),
        why="x -= ... on an alias of x0 updates the caller's array in place; the trajectory itself is right",
        misconception="modifies_input",
    ),
    Bug(
        name="gd_float64_trajectory",
        cell="gradient_descent",
        old="dtype=x0.dtype)",
        new="dtype=np.float64)",
        loses=frozenset({"test_gd_shape"}),
        why="the trajectory of a float32 x0 must stay float32",
        misconception="keeps_dtype",
    ),
    Bug(
        name="gd_ascent",
        cell="gradient_descent",
        old="x = x - lr * grad_fn(x)",
        new="x = x + lr * grad_fn(x)",
        loses=GD_VALUES,
        why="gradient ascent: the update must subtract lr times the gradient",
        misconception="gd_update",
    ),
    Bug(
        name="linear_db_keepdims",
        cell="linear",
        old="    db = dout.sum(axis=0)\n",
        new="    db = dout.sum(axis=0, keepdims=True)\n",
        loses=LINEAR_GRADS,
        why="db of shape (1, M) is a row, not the shape (M,) of b: a gradient has the shape of its input",
        misconception="linear_db_sum",
    ),
    Bug(
        name="linear_backward_upcasts",
        cell="linear",
        old="    db = dout.sum(axis=0)\n",
        new="    db = dout.sum(axis=0, dtype=np.float64)\n",
        loses=frozenset({"test_linear_edge"}),
        why="summing 'in float64 for accuracy' gives a float32 batch a float64 db; the values are right",
        misconception="keeps_dtype",
    ),
    Bug(
        name="gd_stale_gradient",
        cell="gradient_descent",
        old="x = x - lr * grad_fn(x)",
        new="x = x - lr * grad_fn(x0)",
        loses=GD_VALUES,
        why="the gradient is evaluated at x0 every step instead of at the current iterate",
        misconception="gd_update",
    ),
]

# Correct answers written differently from the reference: each must keep full marks.
ALTERNATIVES: list[Bug] = [
    Bug(
        name="numgrad_reverse_order",
        cell="numerical_gradient",
        old="    for i in np.ndindex(x.shape):\n",
        new="    for i in reversed(list(np.ndindex(x.shape))):\n",
        loses=frozenset(),
        why="the entries may be perturbed in any order, last index first here",
    ),
    Bug(
        name="linear_backward_einsum",
        cell="linear",
        old="""    dx = dout @ w.T
    dw = x.T @ dout
    db = dout.sum(axis=0)""",
        new="""    dx = np.einsum("nm,dm->nd", dout, w)
    dw = np.einsum("nd,nm->dm", x, dout)
    db = np.einsum("nm->m", dout)""",
        loses=frozenset(),
        why="the same sums written as einsum: every gradient keeps its shape and dtype",
    ),
    Bug(
        name="gd_list_of_iterates",
        cell="gradient_descent",
        old="""    trajectory = np.empty((num_steps + 1,) + x0.shape, dtype=x0.dtype)
    trajectory[0] = x0
    x = x0.copy()
    for k in range(num_steps):
        x = x - lr * grad_fn(x)
        trajectory[k + 1] = x
    return trajectory""",
        new="""    iterates = [x0.copy()]
    for _ in range(num_steps):
        iterates.append(iterates[-1] - lr * grad_fn(iterates[-1]))
    return np.stack(iterates)""",
        loses=frozenset(),
        why="a list of iterates stacked at the end: the dtype of x0 survives, x0 is never written to",
    ),
]
