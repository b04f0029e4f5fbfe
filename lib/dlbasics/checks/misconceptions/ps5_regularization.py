"""The misconceptions the tests of ps5_regularization diagnose (chapter: Regularization).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist).
"""

CHAPTER = "Regularization"
L2 = f"{CHAPTER} › L2 regularization and weight decay"
L1 = f"{CHAPTER} › L1 regularization and sparsity"
DROPOUT = f"{CHAPTER} › Dropout"
EARLY = f"{CHAPTER} › Early stopping"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    # the weight penalties
    "l2_definition": (
        "the L2 penalty is lambda times one half of the sum of the squares of every entry of every array you are "
        "given: the factor one half belongs to it (it is what makes the penalty the same update as SGD's weight "
        "decay with the same lambda)",
        L2,
    ),
    "l2_gradient": (
        "the gradient of the L2 penalty with respect to each array is the derivative of the penalty entry by "
        "entry, with the one half included: a gradient step on the penalty must be exactly the weight decay of "
        "SGD with the same lambda, not twice it",
        L2,
    ),
    "penalty_structure": (
        "the gradients come back as a new dict with the keys of params, in the same order, one gradient for each "
        "array, with the shape of that array",
        L2,
    ),
    "penalty_float64": (
        "the penalty is a sum over many entries and must be accumulated in float64: the squares of large float32 "
        "weights overflow the float32 range, with a warning, while their float64 sum is finite",
        L2,
    ),
    "l1_definition": (
        "the L1 penalty is lambda times the sum of the absolute values of every entry of every array you are "
        "given, with no factor one half",
        L1,
    ),
    "l1_gradient": (
        "away from 0 the absolute value has a slope whose size does not depend on the size of the weight, only "
        "its sign does: every nonzero weight gets a gradient of the same size, lambda",
        L1,
    ),
    "l1_subgradient_zero": (
        "at a weight of exactly 0 the absolute value has no derivative; the contract, like PyTorch's autograd, "
        "uses the subgradient 0 there, not lambda and not minus lambda",
        L1,
    ),
    # dropout
    "dropout_p_meaning": (
        "p is the probability of dropping an entry, as in PyTorch, not of keeping it (the meaning the original "
        "dropout paper gives its p): on average a fraction p of the entries must come out 0",
        DROPOUT,
    ),
    "dropout_scale": (
        "inverted dropout scales the kept entries during training so that the expected output equals the input: "
        "each kept entry is divided by the probability of keeping it, no more and no less",
        DROPOUT,
    ),
    "dropout_rng": (
        "draw the mask from the generator you are given and from nothing else: the same generator state must "
        "give the same mask, and another state another mask",
        DROPOUT,
    ),
    "dropout_eval_identity": (
        "in evaluation mode dropout is the identity: nothing is dropped and nothing is scaled (scaling by the "
        "keep probability at test time belongs to the original formulation, not to inverted dropout), and the "
        "gradient passes unchanged",
        DROPOUT,
    ),
    "dropout_p_edge": (
        "p equal to 0 drops nothing, so the layer is the identity, in training too; p equal to 1 drops every "
        "entry and gives zeros and a zero gradient, without dividing by zero and without a warning",
        DROPOUT,
    ),
    "dropout_backward_mask": (
        "the backward pass must use the multipliers of the forward pass that made the cache: the same mask, "
        "never a new one, with the same scaling, so a dropped entry gets no gradient and a kept one the upstream "
        "gradient scaled as its value was",
        DROPOUT,
    ),
    # early stopping
    "es_patience": (
        "count the checks since the last improvement; the rule says stop as soon as that count reaches the "
        "patience, not only once it exceeds it",
        EARLY,
    ),
    "es_best": (
        "an improvement is measured against the best loss so far, not against the previous loss: a loss below "
        "the previous one but not below the best is no improvement",
        EARLY,
    ),
    "es_last_check": (
        "the answer is what the last check says: an improvement resets the count, so a curve that would have "
        "stopped earlier and then improved says go on",
        EARLY,
    ),
    "es_min_delta": (
        "an improvement is a loss below the best by more than min_delta: a decrease of exactly min_delta, or an "
        "equal loss when min_delta is 0, is no improvement, and the best loss changes only at an improvement",
        EARLY,
    ),
    "es_not_finite": (
        "a NaN or infinite loss says stop at once, whatever the patience, and changes neither the best loss nor "
        "the count of checks without improvement; an empty list says go on",
        EARLY,
    ),
    "es_rule": (
        "apply the rule to the losses in order, from the first to the last, keeping the best loss so far and the "
        "count of checks since the last improvement, and return the answer of the last check as True or False",
        EARLY,
    ),
    # the problem set's rules
    "modifies_input": (
        "your function changed an array it was given (an array of params, the input or the upstream gradient): "
        "compute into new arrays and leave every argument exactly as it was",
        RULES,
    ),
    "keeps_dtype": (
        "float32 inputs must give float32 results: somewhere a float64 value (a float64 array such as one built "
        "from Python numbers, a cast, a new array made without a dtype) promoted the result to float64",
        RULES,
    ),
}
