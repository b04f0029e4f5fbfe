r"""Deep Learning Basics: NumPy reference implementations of every component the course teaches.

One module per topic, introduced by one chapter (``chapters.yml`` at the repository root lists
which): ``gradcheck``, ``layers``, ``training``, ``data`` (chapter 1), ``activations`` (2),
``losses`` (3), ``optim`` (4), ``regularization`` (5), ``normalization`` (6), ``nn`` (7); plus
``checks`` (the assertions and case tables that exercise test cells use, NumPy only) and
``notebook`` (what every chapter notebook does first). The host-side grader is a separate
package, :mod:`dlbgrader`, which imports this one; this package never imports it.

Conventions every module follows
--------------------------------
Functions first.
    An operation is a pair of functions. ``*_forward(inputs..., *, hyperparameters) -> (out, cache)``
    and ``*_backward(dout, cache) -> gradient`` (a tuple, one per differentiable input, in the order
    of the inputs, when there are several). A loss returns ``(loss, dpred)``. ``dout`` is the
    upstream gradient :math:`\partial L / \partial\,\text{out}`; ``d<name>`` is always
    :math:`\partial L / \partial\,\text{<name>}`. Classes (chapter 7's ``Module``) are thin wrappers
    over these functions, never the other way round.
Nothing is modified in place.
    Inputs are never written to; results are new arrays. The input's floating dtype is kept
    (float32 in, float32 out). A name that says ``_inplace`` would be the only exception; there is none.
Caches
    are small ``typing.NamedTuple`` classes (``ReluCache(x=...)``), created by the forward function
    and only read by the backward function. Callers treat them as opaque.
Three kinds of state, all explicit and all returned new:

    1. **Optimizer state** (chapter 4): one ``NamedTuple`` per algorithm, with PyTorch's names
       (``MomentumState(momentum_buffer)``, ``AdamState(step, exp_avg, exp_avg_sq)``). A step function
       is ``*_step(w, dw, state=None, *, lr, ...) -> (new_w, new_state)``: ``state`` is None on the
       first call; the state passed in is never mutated, the one returned is new. A stateless
       optimizer (plain SGD) returns ``None`` as its state. :class:`dlbasics.optim.Optimizer`
       carries the states of several parameters for a training loop, and is itself immutable:
       ``update(params, grads) -> (new_params, new_optimizer)``.
    2. **Mode**: a keyword argument ``training: bool``, never a global or hidden flag
       (``dropout_forward(x, p, training, rng)``, ``batchnorm_forward(..., training=...)``). With
       ``training=False`` a function is deterministic and changes no state.
    3. **Buffers** (state that is neither learned nor chosen, e.g. batch normalization's running
       mean and variance): passed in and returned as new values,
       ``batchnorm_forward(x, gamma, beta, running_mean, running_var, *, training, momentum=0.1,
       eps=1e-5) -> (out, cache, new_running_mean, new_running_var)``; in evaluation mode the
       returned buffers are the ones passed in.

Randomness
    comes from an explicit ``rng: numpy.random.Generator`` argument; nothing seeds a global state.
PyTorch's conventions
    are followed where PyTorch has the operation (names of hyperparameters, defaults, reductions,
    the gradient at a kink), and the docstring's "See Also" names the PyTorch twin. Where the
    course's convention differs (weights of shape (D, M) rather than PyTorch's (M, D)), the docstring
    says so.
Errors
    Bad arguments raise ``ValueError`` with a message in ``torch.optim``'s style
    (``"Invalid learning rate: -1.0"``); wrong array kinds raise ``TypeError``.
"""

__version__ = "0.1.0"
