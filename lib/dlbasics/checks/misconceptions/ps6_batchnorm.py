"""The misconceptions the tests of ps6_batchnorm diagnose (chapter: Batch normalization).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist).

The tests probe in an order that makes the first failure specific: values are checked first with
epsilon = 0 (a failure there is about the definition), then with epsilon > 0 (a failure only there
is about epsilon), then for a feature whose mean is large compared with its spread (a failure only
there is the variance computed by cancellation).
"""

CHAPTER = "Batch normalization"
TRAINING = f"{CHAPTER} › The transform in training mode"
MODES = f"{CHAPTER} › Training mode and evaluation mode"
RUNNING = f"{CHAPTER} › The running statistics, in PyTorch's convention"
OPPOSITE = f"{CHAPTER} › The same rule under the opposite name"
BACKWARD = f"{CHAPTER} › The backward pass"
LAYER_NORM = f"{CHAPTER} › Layer normalization"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    # the forward pass in training mode
    "bn_definition": (
        "in training mode each feature (column) is standardized with the mean and the biased variance (the "
        "mean of the squared deviations, dividing by N) of that feature over the examples of the batch, the "
        "first axis, and is then multiplied by its gamma and shifted by its beta",
        TRAINING,
    ),
    "eps_inside_sqrt": (
        "epsilon is added to the variance, under the square root, and is the epsilon you are given: your "
        "values are right with epsilon 0 and wrong with a positive epsilon, so it is added to the standard "
        "deviation instead, or left out, or fixed",
        TRAINING,
    ),
    "variance_cancellation": (
        "the mean of the squares minus the square of the mean is the variance in exact arithmetic, but in "
        "floating point it cancels catastrophically when a feature's mean is large compared with its spread "
        "and loses most of the digits of the variance: average the squared deviations from the mean instead",
        TRAINING,
    ),
    # the running statistics
    "momentum_convention": (
        "in PyTorch's convention momentum is the weight of the new batch statistic and one minus momentum the "
        "weight of the old running value; CS231n's momentum is the other way round (its 0.9 is PyTorch's 0.1)",
        OPPOSITE,
    ),
    "running_unbiased": (
        "the running variance is updated with the unbiased variance of the batch (N over N minus 1 times the "
        "biased one, the one used to normalize), because it estimates the variance of all the layer's inputs, "
        "which the biased batch variance underestimates",
        RUNNING,
    ),
    # evaluation mode
    "eval_uses_running": (
        "in evaluation mode the running mean and running variance take the place of the batch statistics: each "
        "example's output depends on that example alone, and a batch of one works",
        MODES,
    ),
    "eval_keeps_buffers": (
        "evaluation mode changes nothing: the running statistics come back exactly as they went in; only "
        "training mode updates them",
        MODES,
    ),
    # the backward pass
    "bn_backward_coupling": (
        "in training mode the batch mean and variance are computed from every example, so each input reaches "
        "the loss through them as well as through its own normalized value: a gradient that treats them as "
        "constants is the evaluation-mode gradient, and it is wrong in training mode",
        BACKWARD,
    ),
    "bn_backward_eval": (
        "in evaluation mode the statistics are the running ones, constants that do not depend on the batch, so "
        "the layer is a fixed affine map of each example; the backward pass must know the mode its forward pass "
        "ran in and must not apply the training-mode terms in evaluation mode",
        BACKWARD,
    ),
    "shared_parameter_sum": (
        "gamma and beta are used by every example of the batch, so each receives the gradient of every use, "
        "added up: a sum over the batch, not a mean, with the shape of the parameter",
        BACKWARD,
    ),
    # layer normalization
    "ln_definition": (
        "layer normalization standardizes each example (row) over its own D features, the last axis, with the "
        "biased variance; it does not average over the batch, while gamma and beta still act per feature",
        LAYER_NORM,
    ),
    "ln_backward": (
        "the gradient with respect to x is wrong: a row's mean and variance depend on every entry of that row, "
        "and gamma differs from feature to feature along the axis the statistics are taken over, so it does not "
        "factor out of the row sums as it factors out of batch normalization's batch sums",
        LAYER_NORM,
    ),
    # the problem set's rules
    "warns": (
        "your function emitted a warning (a division by zero or an invalid value) for inputs the contract "
        "allows; it must emit none",
        RULES,
    ),
    "modifies_input": (
        "your function changed an array it was given (x, a parameter, a running statistic or the upstream "
        "gradient): compute into new arrays and leave every argument exactly as it was; the new running "
        "statistics are returned, not written into the old ones",
        RULES,
    ),
    "keeps_dtype": (
        "float32 inputs must give float32 results (the output, the running statistics and every gradient): "
        "somewhere a float64 value (a cast, an array made without a dtype) promoted a result to float64",
        RULES,
    ),
}
