"""Broken files like those in the public photo sets, written on purpose for lessons and tests.

One set of faults, used by lesson 01's demo folder and the exercises' test folder, so the
checks are shown and graded on the same kinds of file the real data set contains.
Introduced in lesson 01 (utility functions).
"""
from pathlib import Path

from PIL import Image

from catdogkit.constants import CLASS_NAMES
from catdogkit.files import build_folder_atomically
from catdogkit.runtime import cache_dir

#: What each fault is, as lesson 01's table shows it.
FAULTS = {
    "empty": "zero bytes",
    "text": "a text file with a photo's name",
    "truncated": "the first part of a JPEG only",
    "png": "a PNG named .jpg (usable: converted)",
    "grey": "a grayscale photo (usable: converted)",
    "hidden": "a hidden file a Mac leaves behind (ignored)",
}


def write_fault(path, fault, good):
    """Write the fault named ``fault`` (a key of :data:`FAULTS`) at ``path``, made from ``good``.

    ``good`` is the path of a readable photo (the truncated, PNG and grey faults start from it).
    """
    path = Path(path)
    if fault == "empty":
        path.write_bytes(b"")
    elif fault == "text":
        path.write_text("These are my notes, not a photo.\n")
    elif fault == "truncated":
        whole = Path(good).read_bytes()
        path.write_bytes(whole[: len(whole) // 3])  # a download cut off: header whole, pixels not
    elif fault in ("png", "grey"):
        with Image.open(good) as image:
            if fault == "png":
                image.save(path, format="PNG")
            else:
                image.convert("L").save(path, format="JPEG")
    elif fault == "hidden":
        path.write_bytes(b"\x00\x00\x00\x01Bud1")
    else:
        raise ValueError(f"unknown fault {fault!r}; faults: {', '.join(FAULTS)}")
    return path


#: The demo folder's broken files in ``train/<first class>``: file name → fault.
DEMO_FILES = {
    "empty.jpg": "empty",
    "notes.jpg": "text",
    "truncated.jpg": "truncated",
    "really_a_png.jpg": "png",
    "grey.jpg": "grey",
    ".DS_Store": "hidden",
}


def broken_photos_demo(source=None):
    """A small photo folder with the kinds of broken files public photo sets contain.

    A few good photos of each class copied from ``source`` (default: the embedded
    sample) plus the files in :data:`DEMO_FILES`, all in ``train/cats``. Made once in the
    cache, never in a user's folder. Returns its path. Introduced in lesson 01.
    """
    return build_folder_atomically(cache_dir("lessons") / "broken_photos_demo",
                                   lambda work: _fill_demo(work, source))


def _fill_demo(work, source):
    import shutil

    from catdogkit.data.pipeline import list_photos
    from catdogkit.sample import make_sample

    source = source or make_sample()
    for split, count in (("train", 6), ("validation", 3)):
        for name in CLASS_NAMES:
            (work / split / name).mkdir(parents=True)
            for path in list_photos(source, split, name)[:count]:
                shutil.copy(path, work / split / name / path.name)
    cats = work / "train" / CLASS_NAMES[0]
    good = sorted(cats.glob("*.jpg"))[0]
    for name, fault in DEMO_FILES.items():
        write_fault(cats / name, fault, good)
