"""The misconceptions the tests of ps2_activations diagnose (chapter: Activation functions).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist).
"""

CHAPTER = "Activation functions"
SATURATING = f"{CHAPTER} › Sigmoid and tanh"
RELU = f"{CHAPTER} › ReLU and dead neurons"
VARIANTS = f"{CHAPTER} › Leaky ReLU, PReLU and ELU"
MAXOUT = f"{CHAPTER} › Maxout"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    # sigmoid
    "sigmoid_definition": (
        "the sigmoid of 0 is one half, it tends to 1 for large positive inputs and to 0 for large negative "
        "ones, and the sigmoid of minus x is one minus the sigmoid of x: check the sign in the exponent",
        SATURATING,
    ),
    "sigmoid_tail": (
        "for large negative inputs the sigmoid is tiny but not zero, and every entry must be accurate relative "
        "to its own size: computing it as one minus a number close to one, or through tanh, loses its digits",
        SATURATING,
    ),
    "sigmoid_overflow": (
        "the exponential of a large argument overflows to infinity, with a warning, and infinity divided by "
        "infinity is not a number: compute the sigmoid and its derivative in a form in which no exponential "
        "can overflow, as the chapter does",
        SATURATING,
    ),
    "sigmoid_derivative": (
        "the derivative of the sigmoid is wrong: derive it with the chain rule (the chapter writes it with the "
        "output alone), and use what your cache actually holds, not a function of it",
        SATURATING,
    ),
    # tanh
    "tanh_definition": (
        "tanh of 0 is 0, tanh is odd and tends to plus and minus 1, and a tiny input must keep its digits: "
        "the tanh of a tiny number is that number",
        SATURATING,
    ),
    "tanh_overflow": (
        "written with exponentials, tanh overflows for large inputs, with a warning, and gives infinity over "
        "infinity, which is not a number",
        SATURATING,
    ),
    "tanh_derivative": (
        "the derivative of tanh is wrong: its slope is 1 at 0 and falls to 0 on both sides, the same for x and "
        "minus x; derive it with the chain rule (the chapter writes it with the output alone)",
        SATURATING,
    ),
    # ReLU
    "relu_definition": (
        "ReLU keeps the positive entries and replaces the others by 0",
        RELU,
    ),
    "relu_derivative": (
        "ReLU's gradient is wrong away from 0: where the input was positive the upstream gradient passes "
        "unchanged, where it was negative nothing passes",
        RELU,
    ),
    # Leaky ReLU
    "leaky_relu_definition": (
        "Leaky ReLU keeps the positive entries and multiplies the others by the slope",
        VARIANTS,
    ),
    "leaky_relu_slope": (
        "the slope for inputs that are not positive is the negative_slope you are given, in the forward pass "
        "and in the backward pass, not a fixed number",
        VARIANTS,
    ),
    "leaky_relu_any_slope": (
        "the contract allows any slope, negative or greater than 1: the larger of the input and the scaled "
        "input is Leaky ReLU only while the slope is at most 1",
        VARIANTS,
    ),
    "leaky_relu_derivative": (
        "Leaky ReLU's gradient is wrong away from 0: positive inputs pass the upstream gradient unchanged, the "
        "others scale it by the slope of the forward pass",
        VARIANTS,
    ),
    # ELU
    "elu_definition": (
        "ELU keeps the positive entries and maps the others to alpha times the exponential minus one, with the "
        "alpha you are given",
        VARIANTS,
    ),
    "elu_overflow": (
        "a selection between two branches evaluates both of them for every entry: the exponential also sees the "
        "large positive inputs and overflows, with a warning, even though that branch is thrown away",
        VARIANTS,
    ),
    "elu_small_inputs": (
        "for inputs close to 0 the exponential minus one is a difference of two nearly equal numbers and loses "
        "most of its digits, while every entry must be accurate relative to its own size; NumPy computes the "
        "exponential minus one accurately in a single function",
        VARIANTS,
    ),
    "elu_derivative": (
        "ELU's gradient is wrong: on the negative side alpha scales the whole branch, so it scales its slope "
        "too, and positive inputs pass the upstream gradient unchanged",
        VARIANTS,
    ),
    # PReLU
    "prelu_definition": (
        "PReLU is Leaky ReLU with the slopes you are given: one slope shared by all the features, or one slope "
        "per feature, the slope of feature d for column d",
        VARIANTS,
    ),
    "prelu_derivative": (
        "the gradient with respect to x is wrong away from 0: positive inputs pass the upstream gradient "
        "unchanged, the others scale it by the slope of their feature",
        VARIANTS,
    ),
    "shared_parameter_sum": (
        "a parameter that every example of the batch uses (a bias, a shared slope) receives the gradient of "
        "every use, added up: a sum over the batch, and over the features too for a single shared slope, not a "
        "mean, and with the shape of the parameter",
        VARIANTS,
    ),
    # maxout
    "maxout_definition": (
        "each of the M outputs is the largest of its K affine pieces, each piece a weighted sum of all D inputs "
        "plus its bias",
        MAXOUT,
    ),
    "maxout_winner": (
        "the maximum passes the gradient to the winning piece only, and on a tie to the first of the tied "
        "pieces only; the other pieces get none",
        MAXOUT,
    ),
    # conventions and the problem set's rules
    "kink_at_zero": (
        "at exactly 0 the function has a kink and no derivative; the contract, like PyTorch, uses the slope of "
        "the negative side there",
        f"{CHAPTER} › Checking against PyTorch",
    ),
    "warns": (
        "your function emitted a warning (an overflow, a division by zero or an invalid value) for inputs the "
        "contract allows; it must emit none",
        RULES,
    ),
    "modifies_input": (
        "your function changed an array it was given (an input, a parameter or the upstream gradient): compute "
        "into new arrays and leave every argument exactly as it was",
        RULES,
    ),
    "keeps_dtype": (
        "float32 inputs must give float32 results: somewhere a float64 value (a cast, a float64 array such as "
        "one built from Python numbers, a new array made without a dtype) promoted the result to float64",
        RULES,
    ),
}
