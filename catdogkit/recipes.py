"""How each network is trained when nobody says otherwise: epochs, photo sizes, augmentation.

``catdogkit train``, ``benchmarks/accuracy.py`` and lesson 07 follow these recipes; their
figures are in docs/benchmarks.md and :mod:`catdogkit.measured`.

Introduced in lesson 07 (the improved model).
"""
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _

#: Each network's epochs, final photo size and whether photos are cached on disk. "improved"
#: is the best measured recipe, trained with progressive resizing (``phases``: photo size
#: and epochs, small photos first, see :func:`phases`) and stronger augmentation than the
#: lesson network's (``augmentation``: :func:`catdogkit.data.augmentation`'s amounts);
#: "original" is the class's 30 epochs; "class-augmented" the Keras book's 100 epochs.
RECIPES = {
    "original": {"epochs": 30, "image_size": 150, "cache": False},
    "class-augmented": {"epochs": 100, "image_size": 150, "cache": False},
    "improved": {"epochs": 68, "image_size": 128, "cache": True,
                 "phases": ((64, 20), (96, 28), (128, 20)),
                 # 68 epochs of the same 2,000 photos: shifts of a tenth, zooms of up to 30 %.
                 "augmentation": {"rotation": 0.05, "shift": 0.1, "zoom": (-0.3, 0.1)}},
    "transfer": {"epochs": 10, "image_size": 160, "cache": False},
}
#: The smallest photos a phase trains on (a scaled-down plan never goes below it).
SMALLEST_PHASE_SIZE = 32


def phases(name, *, epochs=None, image_size=None):
    """The photo sizes network ``name`` trains at, as ``[(size, epochs), ...]``.

    A recipe with ``phases`` (the improved network's progressive resizing) trains its first
    epochs on small photos, which cost a fraction of the time, then on larger ones, ending
    at its ``image_size``. Other ``epochs`` or a final ``image_size`` scale that plan: the
    phases keep their share of the epochs and their size relative to the last; the last
    phase always keeps at least one epoch, and phases left with none are dropped. A recipe
    without phases trains all its epochs at one size.

    Introduced in lesson 07 (the improved model).
    """
    recipe = RECIPES[name]
    epochs = recipe["epochs"] if epochs is None else int(epochs)
    image_size = recipe["image_size"] if image_size is None else int(image_size)
    if epochs < 1 or image_size < 1:
        raise CatDogKitError(_("{name}: train for at least one epoch on photos of at least 1 px, "
                               "not {epochs} epochs at {size} px").format(
            name=name, epochs=epochs, size=image_size))
    planned = recipe.get("phases", ((recipe["image_size"], recipe["epochs"]),))
    total, final = sum(count for _size, count in planned), planned[-1][0]
    ends, done = [], 0
    for _size, count in planned[:-1]:
        done += count
        ends.append(min(epochs - 1, round(done * epochs / total)))
    ends.append(epochs)
    plan, start = [], 0
    for (size, _count), end in zip(planned, ends):
        if end > start:
            size = min(image_size, max(SMALLEST_PHASE_SIZE, round(size * image_size / final)))
            if plan and plan[-1][0] == size:  # small photos: two phases at one size are one
                plan[-1] = (size, plan[-1][1] + end - start)
            else:
                plan.append((size, end - start))
            start = end
    return plan
