"""The misconceptions the tests of ps1_foundations diagnose (chapter: Learning as optimization).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist).
"""

CHAPTER = "Learning as optimization"
NUMERICAL = f"{CHAPTER} › Checking a gradient numerically"
BACKPROP = f"{CHAPTER} › Backpropagation through a two-layer ReLU network"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    # numerical_gradient
    "numgrad_every_entry": (
        "the gradient has one partial derivative for every entry of x, whatever the shape of x, and has the "
        "shape of x",
        NUMERICAL,
    ),
    "central_difference": (
        "a one-sided (forward) difference is accurate only to first order in the step; the central difference, "
        "which evaluates f on both sides of the point, is accurate to second order, and exact for a quadratic",
        NUMERICAL,
    ),
    "numgrad_restore": (
        "every partial derivative must be taken at the original point: an entry you perturbed must hold its "
        "original value again before the next entry is perturbed, and when the function returns",
        NUMERICAL,
    ),
    "numgrad_bit_exact": (
        "adding the step and subtracting it again does not give back the original number in floating point: "
        "afterwards x must hold exactly, bit for bit, the values it had, so put back the value you saved",
        NUMERICAL,
    ),
    "numgrad_step": (
        "use the step you are given (also when it is passed by keyword), not a fixed one",
        NUMERICAL,
    ),
    # the affine layer
    "linear_definition": (
        "an affine layer multiplies the batch by the weights as a matrix product (not entry by entry) and adds "
        "the bias to every row",
        BACKPROP,
    ),
    "linear_chain_rule": (
        "derive each gradient with the chain rule, entry by entry, summing over every output entry the input "
        "influences; the gradient of x has the shape of x and the gradient of w the shape of w, and a product "
        "whose shapes do not fit, or fit only by chance, has its factors in the wrong order or orientation",
        f"{CHAPTER} › The chain rule",
    ),
    "linear_db_sum": (
        "the bias is added to every row of the batch, so its gradient adds up the contributions of all the rows: "
        "a sum over the batch, not a mean and not one row per example, with the shape of the bias",
        BACKPROP,
    ),
    # gradient descent
    "gd_trajectory": (
        "the trajectory starts with x0 itself and adds one row per step, num_steps + 1 rows in all, each with "
        "the shape of x0",
        f"{CHAPTER} › Gradient descent",
    ),
    "gd_update": (
        "each step starts from the current iterate and moves against the gradient evaluated at that iterate, "
        "by the learning rate times that gradient, with nothing else added (no momentum, no clipping)",
        f"{CHAPTER} › Gradient descent",
    ),
    "learning_rate": (
        "with a learning rate above 2/a the iterates on a quadratic must grow at every step: do not clip, "
        "normalize or otherwise limit the step",
        f"{CHAPTER} › The learning rate in one dimension",
    ),
    # the problem set's rules
    "modifies_input": (
        "your function changed an array it was given: compute into new arrays and leave every argument "
        "exactly as it was",
        RULES,
    ),
    "keeps_dtype": (
        "float32 inputs must give float32 results: somewhere a float64 value (a cast, a float64 array, a new "
        "array made without a dtype, a float64 accumulator) promoted the result to float64",
        RULES,
    ),
}
