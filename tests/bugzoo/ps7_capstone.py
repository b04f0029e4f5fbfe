"""Known-wrong answers to ps7_capstone, each of which must lose exactly the named test cells.

A bug is applied to the reference answer of one solution cell (``cell`` is its grade_id), with the
``### BEGIN/END SOLUTION`` lines removed, by replacing the first occurrence of ``old`` with ``new``.
``loses`` is the exact set of autograded test cells that must then score less than full points, and
the failure message of each of them names ``misconception`` (an id of
``dlbasics.checks.misconceptions.ps7_capstone``). ``ALTERNATIVES`` are correct answers written
differently from the reference: they must keep full marks.

The accuracies below were measured on the graded splits (split 0 visible, splits 1 and 2 hidden, their
mean scored) with the seeds the tests use; the thresholds are 0.80, 0.90 and 0.94. The reference scores
0.967 on split 0 and 0.968 on average over splits 1 and 2 (over six seeds of ``rng``: at least 0.960
and 0.964); the alternatives 0.971 and 0.961 (at least 0.962 and 0.961) and 0.967 and 0.967 (at least
0.962 and 0.956).

- ``no_shuffle`` (0.67 on split 0, 0.74 on the hidden mean), ``labels_off_by_one`` (0.00),
  ``predict_not_standardized`` (0.74, 0.71) and ``learning_rate_too_large`` (0.36, 0.30) fall below all
  three thresholds, each diagnosed by its own measurement (see ``dlbasics.checks.classifier``);
- ``eval_mode_never_set`` keeps its accuracy (0.964, 0.958: dropout with p = 0.2 costs little) but its
  labels change when asked again, and ``batch_statistics_in_predict`` cannot label a single image:
  both lose the contract test only; ``standardizes_in_place`` changes the grader's training images,
  which the contract test catches;
- ``uses_pytorch`` and ``uses_dlbasics`` hand the graded work to PyTorch or to the course's reference
  package, which grading does not offer: they earn nothing.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from tests.bugzoo import Bug

PREDICT = frozenset({"test_capstone_predict"})
ACCURACY = frozenset({"test_capstone_accuracy_80", "test_capstone_accuracy_90", "test_capstone_accuracy_94"})
TOP = frozenset({"test_capstone_accuracy_94"})
EVERYTHING = PREDICT | ACCURACY

_BODY_START = "    # Standardize every pixel with the training set's statistics, kept for predict.\n"

BUGS: list[Bug] = [
    Bug(
        name="no_shuffle",
        cell="train_classifier",
        old="        order = rng.permutation(n)\n",
        new="        order = np.arange(n)\n",
        loses=ACCURACY,
        why="the images come grouped by class: without a new random order every epoch, every mini-batch holds "
        "one class and the network ends pulled towards the last classes (0.67 on split 0)",
        misconception="shuffle",
    ),
    Bug(
        name="eval_mode_never_set",
        cell="train_classifier",
        old="        scores, _ = forward((x_new - mean) / std, training=False)",
        new="        scores, _ = forward((x_new - mean) / std, training=True)",
        loses=PREDICT,
        why="predict in training mode: dropout draws new masks at every call and batch normalization uses the "
        "statistics of the images asked about, so labels change between calls and a single image gets "
        "an arbitrary one",
        misconception="evaluation_mode",
    ),
    Bug(
        name="labels_off_by_one",
        cell="train_classifier",
        old="            dscores[np.arange(nb), y_train[idx]] -= 1.0",
        new="            dscores[np.arange(nb), y_train[idx] - 1] -= 1.0",
        loses=ACCURACY,
        why="the one-hot target of class k put at k - 1 (class 0 at 9): the network learns to answer k - 1",
        misconception="label_encoding",
    ),
    Bug(
        name="predict_not_standardized",
        cell="train_classifier",
        old="        scores, _ = forward((x_new - mean) / std, training=False)",
        new="        scores, _ = forward(x_new, training=False)",
        loses=ACCURACY,
        why="trained on standardized pixels, asked about raw grey levels 0 to 16 (0.74 on split 0)",
        misconception="preprocess_in_predict",
    ),
    Bug(
        name="learning_rate_too_large",
        cell="train_classifier",
        old="    lr, p, weight_decay, epochs, batch_size = 3e-3,",
        new="    lr, p, weight_decay, epochs, batch_size = 1.0,",
        loses=ACCURACY,
        why="Adam with a learning rate of 1: the steps are far too large for the loss to settle (0.36 on split 0)",
        misconception="training_converges",
    ),
    Bug(
        name="batch_statistics_in_predict",
        cell="train_classifier",
        old="        scores, _ = forward((x_new - mean) / std, training=False)",
        new="""        spread = np.where(x_new.std(axis=0) > 0, x_new.std(axis=0), 1.0)
        scores, _ = forward((x_new - x_new.mean(axis=0)) / spread, training=False)""",
        loses=PREDICT,
        why="predict standardizes with the statistics of the images it is given: right on 450 images at once, "
        "but a single image becomes all zeros",
        misconception="evaluation_mode",
    ),
    Bug(
        name="standardizes_in_place",
        cell="train_classifier",
        old="    x = (x_train - mean) / std\n",
        new="    x_train -= mean\n    x_train /= std\n    x = x_train\n",
        loses=PREDICT,
        why="standardizing x_train in place changes the caller's training images",
        misconception="modifies_input",
    ),
    Bug(
        name="uses_pytorch",
        cell="train_classifier",
        old=_BODY_START,
        new="""    import torch

    torch.manual_seed(int(rng.integers(2**31)))
    mean = torch.tensor(x_train.mean(axis=0))
    std = torch.tensor(np.where(x_train.std(axis=0) > 0, x_train.std(axis=0), 1.0))
    x = (torch.tensor(x_train) - mean) / std
    y = torch.tensor(y_train)
    net = torch.nn.Sequential(torch.nn.Linear(64, 128), torch.nn.BatchNorm1d(128), torch.nn.ReLU(),
                              torch.nn.Dropout(0.2), torch.nn.Linear(128, 10)).double()
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    for epoch in range(12):
        for idx in torch.randperm(len(y)).split(32):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()

    def predict(x_new):
        with torch.no_grad():
            return net((torch.tensor(x_new) - mean) / std).argmax(dim=1).numpy()

    return predict
"""
        + _BODY_START,
        loses=EVERYTHING,
        why="the network trained in PyTorch: grading runs NumPy only, so the import fails and the work earns nothing",
        misconception="uses_reference",
    ),
    Bug(
        name="uses_dlbasics",
        cell="train_classifier",
        old=_BODY_START,
        new="""    from dlbasics.losses import cross_entropy_loss
    from dlbasics.nn import BatchNorm1d, Dropout, Linear, ReLU, Sequential
    from dlbasics.optim import Optimizer, adam_step
    from dlbasics.training import iterate_minibatches

    mean = x_train.mean(axis=0)
    std = np.where(x_train.std(axis=0) > 0, x_train.std(axis=0), 1.0)
    model = Sequential(Linear(64, 128), BatchNorm1d(128), ReLU(), Dropout(0.2), Linear(128, 10, gain=1.0))
    params, buffers = model.init(rng)
    opt = Optimizer(adam_step, lr=3e-3)
    for epoch in range(12):
        for xb, yb in iterate_minibatches((x_train - mean) / std, y_train, 32, rng):
            scores, cache, buffers = model.forward(params, buffers, xb, training=True, rng=rng)
            _, dscores = cross_entropy_loss(scores, yb)
            params, opt = opt.update(params, model.backward(dscores, cache)[1])

    def predict(x_new):
        return model.forward(params, buffers, (x_new - mean) / std, training=False)[0].argmax(axis=1)

    return predict
"""
        + _BODY_START,
        loses=EVERYTHING,
        why="the network built from the course's reference package, which grading does not offer",
        misconception="uses_reference",
    ),
]


def _reference_body() -> str:
    """The reference answer's body, from its first line to ``return predict`` (what an alternative replaces)."""
    nb = nbformat.read(
        str(Path(__file__).resolve().parents[2] / "solutions" / "ps7_capstone" / "ps7_capstone.ipynb"), as_version=4
    )
    source = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "train_classifier")
    start = source.index(_BODY_START)
    end = source.index("    return predict\n", start) + len("    return predict")
    return source[start:end]


ALTERNATIVES: list[Bug] = [
    Bug(
        name="plain_mlp_sgd_momentum",
        cell="train_classifier",
        old=_reference_body(),
        new="""    mu = x_train.mean(axis=0)
    sigma = x_train.std(axis=0)
    sigma = np.where(sigma > 0, sigma, 1.0)
    inputs = (x_train - mu) / sigma
    onehot = np.eye(10)[y_train]
    sizes = [64, 128, 10]
    weights = [rng.standard_normal((a, b)) * np.sqrt(2.0 / a) for a, b in zip(sizes[:-1], sizes[1:])]
    biases = [np.zeros(b) for b in sizes[1:]]
    velocity = [np.zeros_like(w) for w in weights] + [np.zeros_like(b) for b in biases]

    def scores_of(batch):
        hidden = np.maximum(batch @ weights[0] + biases[0], 0.0)
        return hidden, hidden @ weights[1] + biases[1]

    for epoch in range(30):
        for idx in np.array_split(rng.permutation(len(inputs)), len(inputs) // 32):
            batch, target = inputs[idx], onehot[idx]
            hidden, out = scores_of(batch)
            e = np.exp(out - out.max(axis=1, keepdims=True))
            g_out = (e / e.sum(axis=1, keepdims=True) - target) / len(idx)
            g_hidden = (g_out @ weights[1].T) * (hidden > 0)
            grads = [batch.T @ g_hidden + 1e-3 * weights[0], hidden.T @ g_out + 1e-3 * weights[1],
                     g_hidden.sum(axis=0), g_out.sum(axis=0)]
            for i, (prm, g) in enumerate(zip(weights + biases, grads)):
                velocity[i] = 0.9 * velocity[i] + g
                prm -= 0.02 * velocity[i]

    def predict(x_new):
        return np.argmax(scores_of((x_new - mu) / sigma)[1], axis=1)

    return predict""",
        loses=frozenset(),
        why="no batch normalization and no dropout: ReLU, SGD with momentum and an L2 penalty, one-hot targets "
        "from np.eye, mini-batches from np.array_split, the network's arrays updated in place",
    ),
    Bug(
        name="tanh_float32_chunked_predict",
        cell="train_classifier",
        old=_reference_body(),
        new="""    x_mean = np.mean(x_train, axis=0)
    x_scale = np.std(x_train, axis=0)
    x_scale[x_scale == 0] = 1.0
    data = ((x_train - x_mean) / x_scale).astype(np.float32)
    targets = np.zeros((len(y_train), 10), dtype=np.float32)
    targets[np.arange(len(y_train)), y_train] = 1.0
    w1 = (rng.standard_normal((64, 200)) / 8.0).astype(np.float32)
    b1 = np.zeros(200, dtype=np.float32)
    w2 = (rng.standard_normal((200, 10)) / np.sqrt(200)).astype(np.float32)
    b2 = np.zeros(10, dtype=np.float32)
    state = [np.zeros_like(t) for t in (w1, b1, w2, b2)] * 2
    t = 0
    for epoch in range(15):
        perm = np.arange(len(data))
        rng.shuffle(perm)
        for chunk in range(0, len(perm), 50):
            sel = perm[chunk:chunk + 50]
            xb, tb = data[sel], targets[sel]
            hid = np.tanh(xb @ w1 + b1)
            logits = hid @ w2 + b2
            logits -= logits.max(axis=1, keepdims=True)
            prob = np.exp(logits)
            prob /= prob.sum(axis=1, keepdims=True)
            d_logits = (prob - tb) / len(sel)
            d_hid = (d_logits @ w2.T) * (1.0 - hid ** 2)
            t += 1
            for i, (prm, g) in enumerate(zip((w1, b1, w2, b2),
                                              (xb.T @ d_hid, d_hid.sum(0), hid.T @ d_logits, d_logits.sum(0)))):
                state[i] = 0.9 * state[i] + 0.1 * g
                state[4 + i] = 0.999 * state[4 + i] + 0.001 * g * g
                step = 2e-3 * (state[i] / (1 - 0.9 ** t)) / (np.sqrt(state[4 + i] / (1 - 0.999 ** t)) + 1e-8)
                prm -= step.astype(np.float32)

    def predict(x_new):
        out = []
        for s in range(0, len(x_new), 100):
            part = ((x_new[s:s + 100] - x_mean) / x_scale).astype(np.float32)
            out.append(np.argmax(np.tanh(part @ w1 + b1) @ w2 + b2, axis=1))
        return np.concatenate(out).astype(np.int64)

    return predict""",
        loses=frozenset(),
        why="tanh instead of ReLU, training in float32, the order drawn with rng.shuffle, Adam written from its "
        "moving averages, and predict working through the images 100 at a time",
    ),
]
