"""The misconceptions the tests of ps3_losses diagnose (chapter: Loss functions).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist).

The tests of every loss check one example first and a batch after it: a loss that is right for one
example but wrong for a batch most likely averages over the wrong count (``mean_reduction``,
``gradient_of_mean``).
"""

CHAPTER = "Loss functions"
MSE = f"{CHAPTER} › As error minimization"
SOFTMAX = f"{CHAPTER} › Softmax"
LOG_SOFTMAX = f"{CHAPTER} › Log-softmax and log-sum-exp"
NLL = f"{CHAPTER} › The negative log-likelihood: what its value means"
CATEGORICAL = f"{CHAPTER} › From the categorical likelihood"
CE_GRADIENT = f"{CHAPTER} › The gradient: softmax minus one-hot"
BCE = f"{CHAPTER} › Binary cross-entropy, and why it takes logits"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    # every loss
    "mean_reduction": (
        "the loss is a mean, as PyTorch's default reduction: over the N examples for the negative log-likelihood "
        "and the cross-entropy, over every entry of the array for the MSE and the binary cross-entropy; not the "
        "sum, and not a mean over another number of terms",
        CATEGORICAL,
    ),
    "gradient_of_mean": (
        "the loss is a mean, so its gradient is divided by the same count as the loss: each example's share "
        "of the gradient shrinks as the batch grows",
        CE_GRADIENT,
    ),
    # MSE
    "mse_definition": (
        "the MSE is the mean of the squared differences between the prediction and the target: not their "
        "absolute values, not half of it, and the difference is squared, not the prediction",
        MSE,
    ),
    "mse_gradient": (
        "derive the gradient of one squared difference with the chain rule, the factor that the square brings "
        "down included, and keep its sign: the gradient points from the target towards the prediction",
        MSE,
    ),
    # softmax
    "softmax_definition": (
        "the softmax turns each row of scores along the last axis, and only that row, into probabilities: the "
        "exponential of each score divided by the sum of the exponentials of its own row, so that every row "
        "sums to 1",
        SOFTMAX,
    ),
    "max_shift": (
        "the exponential of a large score overflows to infinity, with a warning, and that of a very negative "
        "score underflows to 0; infinity over infinity and 0 over 0 are not numbers. The softmax of a row "
        "depends only on the differences between its scores, so it can be computed from shifted scores whose "
        "exponentials cannot overflow and whose sum cannot be 0, a shift chosen for each row",
        f"{CHAPTER} › The fix: subtract the maximum",
    ),
    # log-softmax
    "log_softmax_definition": (
        "the log-softmax is the logarithm of the softmax, row by row along the last axis: each score minus the "
        "log-sum-exp of its own row",
        LOG_SOFTMAX,
    ),
    "log_of_softmax": (
        "a probability computed first can underflow to 0, and its logarithm is then minus infinity, with a "
        "warning, although the true log-probability is an ordinary number such as minus twenty thousand: "
        "compute log-probabilities from the scores without forming the probabilities, and do not clip them",
        LOG_SOFTMAX,
    ),
    # NLL
    "nll_definition": (
        "the NLL takes the log-probabilities as they are, without a softmax or a logarithm of its own, reads "
        "for each example the entry in the column of its true class, whose index the integer target gives "
        "(the targets are class indices, not one-hot rows), and is minus the mean of those entries",
        NLL,
    ),
    "nll_gradient": (
        "the NLL depends on one entry of each row only, the true class's: the gradient is 0 at every other "
        "entry, and at the true class it is the derivative of minus the mean with respect to that entry",
        NLL,
    ),
    "nll_other_classes": (
        "the entries of the classes that are not a target do not enter the NLL at all; they may be minus "
        "infinity, the logarithm of a probability 0, and multiplying minus infinity by 0 to remove it gives "
        "not a number, with a warning",
        CATEGORICAL,
    ),
    # cross-entropy
    "ce_definition": (
        "the cross-entropy of an example is minus the logarithm of the probability that the softmax of its "
        "logits gives its true class, the class whose index the integer target gives (the targets are class "
        "indices, not one-hot rows), and nothing else; adding, for every wrong class, minus the logarithm of "
        "one minus its probability gives the binary cross-entropy over one-hot targets, a different loss, "
        "which PyTorch's cross-entropy is not",
        f"{CHAPTER} › Which one does `F.cross_entropy` compute?",
    ),
    "ce_gradient": (
        "derive the gradient of one example's loss with the chain rule through the log-sum-exp: every logit of "
        "the row gets a gradient, not only the true class's, and the entries of each row sum to 0",
        CE_GRADIENT,
    ),
    # binary cross-entropy
    "bce_definition": (
        "each entry is its own yes or no question, answered yes with the probability that the sigmoid of its "
        "logit gives; its loss is minus the logarithm of the probability given to its label, the sigmoid for "
        "label 1 and one minus the sigmoid for label 0",
        BCE,
    ),
    "bce_gradient": (
        "derive the gradient of one entry's loss with the chain rule through the sigmoid: the sigmoid's own "
        "derivative cancels, and a confident mistake keeps a large gradient",
        BCE,
    ),
    "bce_from_logits": (
        "computed through the probability, the sigmoid rounds to exactly 1 for logits above about 37 and "
        "underflows to 0 below about minus 745, and the logarithm of 0 is minus infinity, with a warning; "
        "clipping it gives a wrong loss. Compute the loss from the logit, in a form in which no exponential "
        "can overflow and no probability is formed",
        BCE,
    ),
    # the problem set's rules
    "warns": (
        "your function emitted a warning (an overflow, a division by zero or an invalid value) for inputs the "
        "contract allows; it must emit none",
        RULES,
    ),
    "modifies_input": (
        "your function changed an array it was given (the scores, the predictions or the targets): compute "
        "into new arrays and leave every argument exactly as it was",
        RULES,
    ),
    "keeps_dtype": (
        "float32 inputs must give float32 results: somewhere a float64 value promoted the result to float64, "
        "such as a float64 array built from Python numbers, or the integer targets used in arithmetic with "
        "the float32 scores: an integer array combined with a float32 array gives float64",
        RULES,
    ),
}
