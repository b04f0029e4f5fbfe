"""The misconceptions the tests of ps7_capstone diagnose (chapter: Putting it together).

Plain words, no code and no formula of the answer; each names the heading of the chapter section
that explains it (``tests/test_checks.py`` checks the headings exist). The capstone's tests see only
what ``predict`` answers, so each misconception is diagnosed from a measurement: the labels shifted
by one class, the accuracy on inputs standardized by the grader, the labels asked again or one image
at a time, the accuracy after training on the same images in random order (see
:mod:`dlbasics.checks.classifier`).
"""

CHAPTER = "Putting it together"
DATA = f"{CHAPTER} › The digits data"
LOOP = f"{CHAPTER} › The training loop"
MODES = f"{CHAPTER} › Training mode and evaluation mode"
RULES = f"{CHAPTER} › Exercises"

MISCONCEPTIONS: dict[str, tuple[str, str]] = {
    "predict_contract": (
        "train_classifier must return a function, and that function must return one integer class label "
        "from 0 to 9 for every row of the images it is given, as a NumPy array with one entry per image, "
        "for any number of images, one included",
        RULES,
    ),
    "modifies_input": (
        "your code changed an array it was given (the training images, the labels, or the images passed to "
        "the returned function): compute into new arrays and leave every argument exactly as it was",
        RULES,
    ),
    "evaluation_mode": (
        "a trained network must classify in evaluation mode: dropout switched off and batch normalization "
        "using its running statistics, and any standardization done with the statistics saved from the "
        "training set, so that an image's label depends on that image alone and is the same every time it "
        "is asked, alone or with other images",
        MODES,
    ),
    "label_encoding": (
        "the labels are the class indices 0 to 9 and are used as they are: class k is the k-th score of the "
        "network and the k-th entry of a one-hot target, and the predicted label is the index of the largest "
        "score, with no shift in either direction",
        DATA,
    ),
    "preprocess_in_predict": (
        "whatever is done to the training images before training (standardizing each pixel with the "
        "training set's mean and standard deviation) must be done, with the same saved statistics, to "
        "every image the returned function is asked about",
        DATA,
    ),
    "shuffle": (
        "the training images may come grouped by class; visit them in a new random order in every epoch, "
        "or each mini-batch holds a single class and the network is pulled towards whichever classes "
        "came last",
        LOOP,
    ),
    "training_converges": (
        "the network is not trained well enough: its loss on the training set must fall to a low value; "
        "watch it epoch by epoch, since a learning rate that is too large makes it jump or diverge, and one "
        "that is too small, or too few epochs, leave it high",
        LOOP,
    ),
}
