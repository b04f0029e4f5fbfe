r"""Modules: a network as a list of layers, each a thin wrapper over the functional pieces.

A :class:`Module` describes a layer (its sizes and hyperparameters) and holds no arrays. Its model
parameters and buffers are flat ``dict``\s of arrays that the caller keeps and passes in; every
method returns new ones and modifies nothing::

    model = Sequential(Linear(64, 128), BatchNorm1d(128), ReLU(), Dropout(0.2), Linear(128, 10))
    params, buffers = model.init(rng)          # {"0.w": ..., "0.b": ..., "1.gamma": ...}, {"1.running_mean": ...}
    out, cache, buffers = model.forward(params, buffers, x, training=True, rng=rng)
    dx, grads = model.backward(dout, cache)    # grads: one array per key of params
    params, optimizer = optimizer.update(params, grads)   # a dlbasics.optim.Optimizer

The conventions of the package (:mod:`dlbasics`) hold: the mode is the keyword ``training``;
randomness comes from the explicit ``rng`` (only :class:`Dropout` draws from it, and only in
training); buffers (batch normalization's running statistics) are returned new by ``forward``, and
in evaluation mode they are the ones passed in. A module's forward and backward are the functions
of the earlier chapters (``linear_forward``, ``relu_forward``, ``dropout_forward``,
``batchnorm_forward``, ...); the modules add only the bookkeeping of names. In a :class:`Sequential`
the name of an array is ``"<index>.<name>"``, as in PyTorch's ``state_dict()`` (``"0.w"`` here,
``"0.weight"`` there; the course stores an affine layer's weights as (D, M), PyTorch as (M, D)).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from dlbasics._typing import FloatArray, check_floating
from dlbasics.activations import (
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from dlbasics.layers import linear_backward, linear_forward
from dlbasics.normalization import batchnorm_backward, batchnorm_forward
from dlbasics.regularization import dropout_backward, dropout_forward

Arrays = dict[str, FloatArray]
"""Named arrays: the model parameters, the buffers, or the gradients of a module."""
Named = Mapping[str, FloatArray]
"""Named arrays passed in (not modified)."""
Rng = np.random.Generator | None
Forwarded = tuple[FloatArray, Any, Arrays]
"""What ``forward`` returns: ``(out, cache, new_buffers)``."""
Backwarded = tuple[FloatArray, Arrays]
"""What ``backward`` returns: ``(dx, grads)``."""

__all__ = [
    "Activation",
    "Arrays",
    "BatchNorm1d",
    "Dropout",
    "Linear",
    "Module",
    "ReLU",
    "Residual",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "join_names",
    "split_names",
]


class Module(ABC):
    r"""A layer or a network: ``init``, ``forward`` and ``backward`` over named arrays.

    Subclasses implement :meth:`forward` and :meth:`backward`, and :meth:`init` if they have model
    parameters or buffers. A module holds only its hyperparameters; it never changes after
    construction.

    See Also
    --------
    torch.nn.Module : holds its parameters and buffers itself and changes them in place; ``train()``
        and ``eval()`` set a hidden mode flag that here is the argument ``training``.
    """

    def init(
        self, rng: np.random.Generator, dtype: npt.DTypeLike = np.float64
    ) -> tuple[Arrays, Arrays]:
        """Initial model parameters and buffers, drawn from ``rng`` (none for a module without them)."""
        return {}, {}

    @abstractmethod
    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        """``(out, cache, new_buffers)`` for the input ``x``; nothing passed in is modified."""

    @abstractmethod
    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        """``(dx, grads)``: the gradient with respect to the input, and one per model parameter by name."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Linear(Module):
    r"""An affine layer :math:`\text{out} = xW + b` (:func:`~dlbasics.layers.linear_forward`).

    Model parameters ``w`` of shape (D, M) and ``b`` of shape (M,); no buffers. :meth:`init` draws
    :math:`W_{dm} \sim \mathcal N(0, \text{gain}/D)` and sets :math:`b = 0`: ``gain=2`` is He
    initialization (for ReLU), ``gain=1`` LeCun's (for tanh and the sigmoid).

    Parameters
    ----------
    in_features : int
        :math:`D`, the features of each input row.
    out_features : int
        :math:`M`, the features of each output row.
    gain : float, default 2.0
        Variance of the weights times :math:`D`.

    See Also
    --------
    torch.nn.Linear : stores ``weight`` as (M, D), the transpose of ``w``, and initializes it
        uniformly in :math:`\pm 1/\sqrt{D}`.
    """

    def __init__(
        self, in_features: int, out_features: int, *, gain: float = 2.0
    ) -> None:
        if in_features < 1 or out_features < 1:
            raise ValueError(
                f"Invalid layer size: {in_features} -> {out_features}"
            )
        if not gain > 0.0:
            raise ValueError(f"Invalid gain: {gain}")
        self.in_features, self.out_features = in_features, out_features
        self.gain = gain

    def init(
        self, rng: np.random.Generator, dtype: npt.DTypeLike = np.float64
    ) -> tuple[Arrays, Arrays]:
        d, m = self.in_features, self.out_features
        w = rng.normal(0.0, np.sqrt(self.gain / d), (d, m)).astype(dtype)
        return {"w": w, "b": np.zeros(m, dtype=dtype)}, {}

    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        out, cache = linear_forward(x, params["w"], params["b"])
        return out, cache, {}

    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        dx, dw, db = linear_backward(dout, cache)
        return dx, {"w": dw, "b": db}

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features})"


Forward = Callable[[FloatArray], tuple[FloatArray, Any]]
Backward = Callable[[FloatArray, Any], FloatArray]


class Activation(Module):
    r"""An activation function applied entry by entry, from its forward and backward functions.

    No model parameters, no buffers; the same in training and evaluation mode. :class:`ReLU`,
    :class:`Tanh` and :class:`Sigmoid` are the ones of :mod:`dlbasics.activations`.

    Parameters
    ----------
    forward, backward : callable
        ``forward(x) -> (out, cache)`` and ``backward(dout, cache) -> dx``, e.g.
        :func:`~dlbasics.activations.relu_forward` and :func:`~dlbasics.activations.relu_backward`.
    """

    def __init__(self, forward: Forward, backward: Backward) -> None:
        self._forward, self._backward = forward, backward

    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        out, cache = self._forward(x)
        return out, cache, {}

    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        return self._backward(dout, cache), {}


class ReLU(Activation):
    """:math:`\\max(0, x)` (:func:`~dlbasics.activations.relu_forward`); ``torch.nn.ReLU``."""

    def __init__(self) -> None:
        super().__init__(relu_forward, relu_backward)


class Tanh(Activation):
    """:math:`\\tanh x` (:func:`~dlbasics.activations.tanh_forward`); ``torch.nn.Tanh``."""

    def __init__(self) -> None:
        super().__init__(tanh_forward, tanh_backward)


class Sigmoid(Activation):
    """:math:`1/(1 + e^{-x})` (:func:`~dlbasics.activations.sigmoid_forward`); ``torch.nn.Sigmoid``."""

    def __init__(self) -> None:
        super().__init__(sigmoid_forward, sigmoid_backward)


class Dropout(Module):
    r"""Inverted dropout (:func:`~dlbasics.regularization.dropout_forward`): in training, each entry is
    set to 0 with probability :math:`p` and the others are divided by :math:`1 - p`; in evaluation,
    the identity.

    The mask is drawn from the ``rng`` passed to :meth:`forward`, which training mode with
    :math:`0 < p < 1` requires. No model parameters, no buffers.

    Parameters
    ----------
    p : float, default 0.5
        Probability of dropping an entry, in [0, 1].

    See Also
    --------
    torch.nn.Dropout : the same computation, with PyTorch's random numbers.
    """

    def __init__(self, p: float = 0.5) -> None:
        if not 0.0 <= p <= 1.0:
            raise ValueError(
                f"dropout probability has to be between 0 and 1, but got {p}"
            )
        self.p = p

    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        out, cache = dropout_forward(x, self.p, training, rng)
        return out, cache, {}

    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        return dropout_backward(dout, cache), {}

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


class BatchNorm1d(Module):
    r"""Batch normalization of (N, D) inputs (:func:`~dlbasics.normalization.batchnorm_forward`).

    Model parameters ``gamma`` (starts at 1) and ``beta`` (starts at 0), shape (D,); buffers
    ``running_mean`` (starts at 0) and ``running_var`` (starts at 1). In training mode the batch's
    statistics normalize and the running statistics move towards them (``momentum`` is the weight
    of the new batch, as in PyTorch); in evaluation mode the running statistics normalize and are
    returned unchanged.

    Parameters
    ----------
    num_features : int
        :math:`D`.
    momentum : float, default 0.1
    eps : float, default 1e-5

    See Also
    --------
    torch.nn.BatchNorm1d : ``weight`` and ``bias`` are ``gamma`` and ``beta``.
    """

    def __init__(
        self, num_features: int, *, momentum: float = 0.1, eps: float = 1e-5
    ) -> None:
        if num_features < 1:
            raise ValueError(f"Invalid number of features: {num_features}")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        self.num_features = num_features
        self.momentum, self.eps = momentum, eps

    def init(
        self, rng: np.random.Generator, dtype: npt.DTypeLike = np.float64
    ) -> tuple[Arrays, Arrays]:
        d = self.num_features
        params = {
            "gamma": np.ones(d, dtype=dtype),
            "beta": np.zeros(d, dtype=dtype),
        }
        buffers = {
            "running_mean": np.zeros(d, dtype=dtype),
            "running_var": np.ones(d, dtype=dtype),
        }
        return params, buffers

    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        out, cache, mean, var = batchnorm_forward(
            x,
            params["gamma"],
            params["beta"],
            buffers["running_mean"],
            buffers["running_var"],
            training=training,
            momentum=self.momentum,
            eps=self.eps,
        )
        return out, cache, {"running_mean": mean, "running_var": var}

    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        dx, dgamma, dbeta = batchnorm_backward(dout, cache)
        return dx, {"gamma": dgamma, "beta": dbeta}

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features})"


def split_names(arrays: Named, n: int) -> list[Arrays]:
    """``{"0.w": a, "1.gamma": g}`` -> ``[{"w": a}, {"gamma": g}]``: one dict
    per module of a Sequential of ``n`` modules."""
    parts: list[Arrays] = [{} for _ in range(n)]
    for key, value in arrays.items():
        index, dot, name = key.partition(".")
        if not (dot and index.isdigit() and int(index) < n):
            raise ValueError(
                f"unexpected array name {key!r} for a "
                f"Sequential of {n} modules"
            )
        parts[int(index)][name] = value
    return parts


def join_names(parts: list[Arrays]) -> Arrays:
    """The inverse of :func:`split_names`: ``"<index>.<name>"`` keys."""
    return {
        f"{i}.{name}": value
        for i, part in enumerate(parts)
        for name, value in part.items()
    }


class Sequential(Module):
    r"""Modules applied one after the other: :math:`\text{out} = f_K(\cdots f_2(f_1(x)))`.

    The forward pass calls each module's ``forward`` in order; the backward pass calls each
    module's ``backward`` in reverse order, handing every module the gradient of its output
    (the chain rule, one module at a time). Module ``i``'s arrays are named ``"i.<name>"``.

    .. math::

        \frac{\partial L}{\partial h_{k-1}} = \frac{\partial L}{\partial h_k}\,
        \frac{\partial h_k}{\partial h_{k-1}}, \qquad h_0 = x,\ h_K = \text{out}.

    Parameters
    ----------
    *modules : Module
        The modules, first applied first (none: the identity).

    See Also
    --------
    torch.nn.Sequential

    Notes
    -----
    Numerically, exactly the modules' own functions; the arrays are passed on, never copied.
    """

    def __init__(self, *modules: Module) -> None:
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(
                    "Sequential takes Module instances, "
                    f"got {type(m).__name__}"
                )
        self.modules = tuple(modules)

    def init(
        self, rng: np.random.Generator, dtype: npt.DTypeLike = np.float64
    ) -> tuple[Arrays, Arrays]:
        inits = [m.init(rng, dtype) for m in self.modules]
        params = join_names([p for p, _ in inits])
        return params, join_names([b for _, b in inits])

    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        n = len(self.modules)
        caches, new_buffers = [], []
        h = x
        for module, p, b in zip(
            self.modules, split_names(params, n), split_names(buffers, n)
        ):
            h, cache, b = module.forward(p, b, h, training=training, rng=rng)
            caches.append(cache)
            new_buffers.append(b)
        return h, tuple(caches), join_names(new_buffers)

    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        grads: list[Arrays] = [{} for _ in self.modules]
        d = dout
        for i in reversed(range(len(self.modules))):
            d, grads[i] = self.modules[i].backward(d, cache[i])
        return d, join_names(grads)

    def __repr__(self) -> str:
        if not self.modules:
            return "Sequential()"
        inner = ",\n  ".join(
            repr(m).replace("\n", "\n  ") for m in self.modules
        )
        return f"Sequential(\n  {inner}\n)"


class Residual(Module):
    r"""A residual connection around a module: :math:`\text{out} = x + F(x)`.

    .. math::

        \frac{\partial L}{\partial x} = \frac{\partial L}{\partial \text{out}}
        + \frac{\partial L}{\partial \text{out}}\,\frac{\partial F}{\partial x}:

    the gradient reaches :math:`x` unchanged along the identity path, whatever :math:`F` does to it
    (He et al., 2016). ``F`` must keep the shape of its input. Its arrays keep their names.

    Parameters
    ----------
    inner : Module
        :math:`F`, e.g. ``Sequential(Linear(d, d), ReLU(), Linear(d, d))``.

    See Also
    --------
    torchvision.models.resnet.BasicBlock : the convolutional residual block of ResNet.
    """

    def __init__(self, inner: Module) -> None:
        if not isinstance(inner, Module):
            raise TypeError(
                f"Residual takes a Module, got {type(inner).__name__}"
            )
        self.inner = inner

    def init(
        self, rng: np.random.Generator, dtype: npt.DTypeLike = np.float64
    ) -> tuple[Arrays, Arrays]:
        return self.inner.init(rng, dtype)

    def forward(
        self,
        params: Named,
        buffers: Named,
        x: FloatArray,
        *,
        training: bool,
        rng: Rng = None,
    ) -> Forwarded:
        check_floating(x)
        fx, cache, new_buffers = self.inner.forward(
            params, buffers, x, training=training, rng=rng
        )
        if fx.shape != x.shape:
            raise ValueError(
                "a residual connection needs F(x) of the shape "
                f"of x, got {fx.shape} for {x.shape}"
            )
        return (x + fx).astype(x.dtype, copy=False), cache, new_buffers

    def backward(self, dout: FloatArray, cache: Any) -> Backwarded:
        dfx, grads = self.inner.backward(dout, cache)
        return (dout + dfx).astype(dout.dtype, copy=False), grads

    def __repr__(self) -> str:
        return f"Residual({self.inner!r})"
