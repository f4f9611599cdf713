"""What the networks were measured to reach: the accuracy ladder, and what each choice of the
improved network is worth.

Every figure comes from ``benchmarks/accuracy.py`` on the 2,000 training and 1,000
validation real photos of ``cats_vs_dogs_small`` (``docs/benchmarks.md`` gives each
command and its JSON), unless its row says it is a published figure. The words are marked
for the Spanish catalogue (``_N_``) and translated by the table functions when shown.

Introduced in lesson 07 (the improved model).
"""
from catdogkit.i18n import _, _N_, format_percent

#: What each choice of :func:`catdogkit.models.improved_cnn` does (lesson 07's table).
IMPROVEMENTS = {
    _N_("augmentation layers"): _N_("random flips, small turns, shifts and zooms of each training "
                                    "photo, inside the model (active only while training)"),
    _N_("batch normalization"): _N_("every convolution's output normalised, momentum 0.9 (with 0.99 "
                                    "the running statistics lagged: the 80-photo sample stayed at "
                                    "50 % validation while training reached 82 %)"),
    _N_("residual stages"): _N_("a 1x1 shortcut adds each stage's input back to its output, as in "
                                "the Keras book's mini-Xception (90.8 % from scratch on these photos)"),
    _N_("global average pooling"): _N_("one number per feature map instead of Flatten + Dense 512: at "
                                       "128 px 1,229,793 parameters instead of 3,327,713"),
    _N_("smaller photos"): _N_("at most 128 px instead of the class's 150: 49 photos/s at 128 px against "
                               "31 at 160 px on 2 cores, so the same CPU time buys more epochs"),
    _N_("progressive resizing"): _N_("the first 20 epochs on 64x64 photos, 28 on 96x96, the last 20 on "
                                     "128x128: an epoch on 64 px photos costs a quarter of one on 128 px, "
                                     "so the same CPU time trains more epochs"),
    _N_("dropout, weight decay, label smoothing"): _N_("0.3 dropout before the output, AdamW weight "
                                                       "decay 5e-4, labels 0.05/0.95 instead of 0/1"),
    _N_("cosine learning-rate schedule"): _N_("a warm-up to 2e-3, then down to 2e-5 at the last planned "
                                              "step (left out: Adam at a constant 1e-3)"),
}

#: ``benchmarks/accuracy.py --ablations --seeds 1 --improved-size 64 --improved-epochs 12``:
#: validation accuracy of the full recipe and of the recipe without each choice, seed 0.
#: Undoing "smaller photos" trains on 86 px photos for 7 epochs, the same CPU time.
ABLATION_VALIDATION = {
    "full recipe": 0.779,
    "augmentation layers": 0.765,
    "batch normalization": 0.572,
    "residual stages": 0.769,
    "global average pooling": 0.755,
    "smaller photos": 0.773,
    "dropout, weight decay, label smoothing": 0.778,
    "cosine learning-rate schedule": 0.774,
    "progressive resizing": 0.755,
}
#: Rows measured against another run than the full recipe above: ``... --ablations --ablate
#: "progressive resizing"`` (seventh session), the recipe's phases at the same budget (4
#: epochs each on 32, 48 and 64 px photos, with the recipe's stronger augmentation) against
#: 7 epochs on 64 px photos, planned as the same CPU time (1.97 and 1.60 dedicated minutes).
ABLATION_WITH = {"progressive resizing": 0.727}
#: The budget of those runs, as lesson 07 says it.
ABLATION_BUDGET = _N_("one seed at a reduced budget: 64 px photos, 12 epochs, about 3 CPU minutes "
                      "a run, each also averaging its last weights (dropped since: 0.4 points on the "
                      "full recipe), on one photo size with the milder augmentation the recipe had "
                      "then; progressive resizing: the recipe's phases at that budget (4 epochs each "
                      "on 32, 48 and 64 px photos, 2.0 CPU minutes) against 7 epochs on 64 px photos "
                      "(planned as the same time, 1.6 CPU minutes); "
                      "two runs of the same network that differed only in their random draws ended "
                      "2.8 points apart, so smaller differences rank nothing")

#: The accuracy ladder (lesson 07): each rung's validation accuracy on the real photos, or
#: None where this kit has not measured it (``how`` then gives the published figure).
LADDER = (
    {"network": "original", "rung": _N_("1. the class network"), "validation": 0.756,
     "how": _N_("1 seed, 30 epochs at 150 px, 18.7 CPU minutes; 77.4 % with flipped copies")},
    {"network": "class-augmented",
     "rung": _N_("2. the class network with augmentation and dropout 0.5 (the Keras book's second model)"),
     "validation": 0.779,
     "how": _N_("1 seed, 100 epochs at 150 px, 75.8 CPU minutes; 77.9 % with flipped copies")},
    {"network": "improved", "rung": _N_("3. the improved network"), "validation": 0.890,
     "how": _N_("mean of 3 seeds (89.7 %, 89.7 % and 87.7 %), 68 epochs on 64, 96, then 128 px "
                "photos, 28.3-29.9 CPU minutes each; 91.3 %, 91.0 % and 88.5 % with flipped copies "
                "(mean 90.3 %)")},
    {"network": "transfer", "rung": _N_("4. transfer learning (MobileNetV2 trained on ImageNet, frozen)"),
     "validation": None,
     "how": _N_("needs the ImageNet weights (Colab): the published figure is about 97-98 %")},
)


def _percent(fraction):
    return "—" if fraction is None else format_percent(fraction)


def improvements_table():
    """Lesson 07's table of the improved network's choices, in the kit's language: what each
    does, and the validation accuracy of the recipe without it against the full recipe's
    (:data:`ABLATION_VALIDATION`, at the budget :data:`ABLATION_BUDGET` says; a row of
    :data:`ABLATION_WITH` against its own run).

    Introduced in lesson 07 (the improved model).
    """
    full = ABLATION_VALIDATION["full recipe"]
    return [{_("change"): _(choice), _("what it does"): _(text),
             _("validation without it"): _percent(ABLATION_VALIDATION[choice]),
             _("with it"): _percent(ABLATION_WITH.get(choice, full))}
            for choice, text in IMPROVEMENTS.items()]


def ladder_table():
    """The accuracy ladder as lesson 07 shows it, in the kit's language: each rung, its
    validation accuracy on the real photos (— where not measured here) and how it was got.

    Introduced in lesson 07 (the improved model).
    """
    return [{_("network"): _(rung["rung"]), _("validation accuracy"): _percent(rung["validation"]),
             _("how it was measured"): _(rung["how"])} for rung in LADDER]
