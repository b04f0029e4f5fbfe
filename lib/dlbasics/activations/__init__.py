r"""Activation functions: forward and backward passes in NumPy.

Every ``*_forward`` returns ``(out, cache)``; every ``*_backward(dout, cache)``
returns the gradient of the loss with respect to each input. Inputs are never
modified and the floating dtype is preserved (float32 stays float32).

The functions are split over four modules by family, and all are importable
from here: ``from dlbasics.activations import relu_forward``.
"""

from dlbasics.activations.maxout import (
    MaxoutCache,
    maxout_backward,
    maxout_forward,
)
from dlbasics.activations.rectified import (
    EluCache,
    LeakyReluCache,
    PreluCache,
    ReluCache,
    elu_backward,
    elu_forward,
    leaky_relu_backward,
    leaky_relu_forward,
    prelu_backward,
    prelu_forward,
    relu_backward,
    relu_forward,
)
from dlbasics.activations.saturating import (
    SigmoidCache,
    TanhCache,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from dlbasics.activations.smooth import (
    GeluCache,
    SiluCache,
    gelu_backward,
    gelu_forward,
    silu_backward,
    silu_forward,
)

__all__ = [
    "EluCache",
    "GeluCache",
    "LeakyReluCache",
    "MaxoutCache",
    "PreluCache",
    "ReluCache",
    "SigmoidCache",
    "SiluCache",
    "TanhCache",
    "elu_backward",
    "elu_forward",
    "gelu_backward",
    "gelu_forward",
    "leaky_relu_backward",
    "leaky_relu_forward",
    "maxout_backward",
    "maxout_forward",
    "prelu_backward",
    "prelu_forward",
    "relu_backward",
    "relu_forward",
    "sigmoid_backward",
    "sigmoid_forward",
    "silu_backward",
    "silu_forward",
    "tanh_backward",
    "tanh_forward",
]
