"""The misconceptions the tests of ps4_optimizers diagnose (chapter: Optimizers).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist).
"""

CHAPTER = "Optimizers"
SGD = f"{CHAPTER} › Gradient descent, SGD and mini-batch SGD"
MOMENTUM = f"{CHAPTER} › SGD with momentum"
ADAGRAD = f"{CHAPTER} › Adagrad"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    # SGD and weight decay
    "sgd_update": (
        "a step moves the weights against the gradient, by the learning rate of this call times the gradient, "
        "with nothing else added",
        SGD,
    ),
    "weight_decay_l2": (
        "in SGD, SGD with momentum and Adam, weight decay is the gradient of the penalty one half of weight_decay "
        "times the squared norm of the weights: weight_decay times the current weights is added to the gradient "
        "before anything else uses it (not twice that, not after the step)",
        SGD,
    ),
    # momentum
    "momentum_buffer_start": (
        "PyTorch's momentum buffer starts as the first gradient itself, so the first step of SGD with momentum is "
        "a plain SGD step; it is not started at 0 with the gradient scaled down",
        MOMENTUM,
    ),
    "momentum_sum": (
        "the momentum buffer is a sum, not an average: at every step the old buffer times the momentum plus the "
        "new gradient, with no factor one minus the momentum on the gradient (PyTorch's dampening is 0), and the "
        "step is the learning rate times the buffer",
        MOMENTUM,
    ),
    "momentum_pytorch_form": (
        "in PyTorch's form the buffer holds gradients only, and the learning rate of the current call multiplies "
        "the whole buffer; a velocity that already contains the learning rates of past calls gives the same "
        "iterates only as long as the learning rate stays the same",
        f"{CHAPTER} › Two ways to write momentum",
    ),
    "nesterov_step": (
        "with Nesterov momentum the step is along the new gradient plus the momentum times the new buffer (the "
        "iterates are the look-ahead points), not along the buffer alone, and the buffer itself is the same as "
        "without Nesterov",
        f"{CHAPTER} › Nesterov momentum",
    ),
    # Adagrad and RMSProp
    "adagrad_sum": (
        "Adagrad's accumulator is the sum of the squares of every gradient so far, entry by entry, started at 0 "
        "and never decayed or averaged; every step divides the gradient by the square root of that sum (plus "
        "epsilon)",
        ADAGRAD,
    ),
    "rmsprop_average": (
        "RMSProp's average of the squared gradients is an exponential moving average started at 0: alpha times "
        "the old average plus one minus alpha times the new squared gradient, not the squared gradient alone; "
        "PyTorch does not correct it for its start, so the first steps are longer than the learning rate",
        f"{CHAPTER} › RMSProp",
    ),
    "eps_placement": (
        "epsilon is added to the square root of the accumulated squares, outside the root and inside the "
        "denominator, as PyTorch does: it keeps the division finite where the gradients have all been 0, and "
        "where the gradients are as small as epsilon its place changes the step, so it may not go under the root "
        "or be left out",
        ADAGRAD,
    ),
    # Adam and AdamW
    "adam_bias_correction": (
        "Adam's averages start at 0 and take in each gradient, or its square, with weight one minus beta; each "
        "is then divided by one minus beta to the power t, where t counts the updates including this one (1 on "
        "the first call), so that on the first call the corrected averages are the gradient and its square; "
        "without the correction, or with another count, the first steps have the wrong length",
        f"{CHAPTER} › The bias correction",
    ),
    "adamw_decoupled": (
        "AdamW first shrinks the weights of the previous step by the factor one minus the learning rate times "
        "weight_decay, and then makes an Adam step whose averages see the loss's gradient alone; adding the decay "
        "to the gradient instead is Adam with L2 regularization, and decaying after the step shrinks the update "
        "too",
        f"{CHAPTER} › AdamW: decoupled weight decay",
    ),
    # the problem set's rules
    "modifies_input": (
        "your function changed w or dw: compute the new weights into a new array and leave the arguments exactly "
        "as they were",
        RULES,
    ),
    "modifies_state": (
        "your function changed the state it was given (an array of the state updated in place, or an entry "
        "replaced): return a new state and leave the old one as it was, so that calling again with the old state "
        "makes the same step",
        RULES,
    ),
    "keeps_dtype": (
        "float32 weights and gradients must give float32 new weights: somewhere a float64 value (a NumPy float64 "
        "scalar, such as a square root of a Python number taken with NumPy, a float64 array, or a state kept in "
        "float64) promoted the result to float64",
        RULES,
    ),
}
