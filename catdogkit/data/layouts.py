"""Recognise how a photo folder is organised and list its photos per split and class.

Introduced in lesson 01. Three layouts are accepted:

- ``split``: ``train/``, ``validation/`` (optional ``test/``), each with one folder per class;
- ``flat``: one folder of ``cat.N.jpg`` / ``dog.N.jpg`` files (the Kaggle download);
- ``petimages``: one folder per class and no split (``PetImages/Cat`` + ``PetImages/Dog``).

Class names come from the folders (or the file-name prefix), sorted, so label 0 is
always the first name in alphabetical order, whatever the names are.
"""
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _

SPLITS = ("train", "validation", "test")
# Other names people give the same splits; mapped onto the kit's three.
SPLIT_ALIASES = {"train": "train", "training": "train", "validation": "validation",
                 "valid": "validation", "val": "validation", "test": "test", "testing": "test"}
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# System litter that every photo set collects; never a photo, never a problem.
LITTER_NAMES = {"thumbs.db", "desktop.ini", "ehthumbs.db"}
VALIDATION_SHARE = 0.2


@dataclass
class Layout:
    """What a folder holds (lesson 01): ``files[split][class] -> sorted paths`` plus what was ignored."""

    root: Path
    kind: str
    class_names: list
    files: dict
    hidden: int = 0
    other: list = field(default_factory=list)
    made_split: bool = False


def is_hidden(path):
    """True for dot files and system litter (``.DS_Store``, ``Thumbs.db``, ``__MACOSX``). Lesson 01."""
    name = path.name
    return name.startswith(".") or name.lower() in LITTER_NAMES or name == "__MACOSX"


def _listdir(folder):
    try:
        return sorted(folder.iterdir())
    except PermissionError as error:
        raise CatDogKitError(_("Cannot read the folder {folder}: {error}. Check its permissions or pass another "
                               "folder.").format(folder=folder, error=error.strerror)) from error


def _visible(folder):
    entries = _listdir(folder)
    return [p for p in entries if not is_hidden(p)], sum(is_hidden(p) for p in entries)


def _class_folders(folder):
    subfolders, _ = _visible(folder)
    return [p for p in subfolders if p.is_dir()]


def _collect(folder, layout):
    """Every non-hidden file below ``folder`` (photos and impostors alike: checks decides)."""
    found = []
    for directory, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not is_hidden(Path(d)))
        for name in sorted(filenames):
            path = Path(directory, name)
            if is_hidden(path):
                layout.hidden += 1
            elif path.suffix.lower() in PHOTO_SUFFIXES:
                found.append(path)
            else:
                layout.other.append(path)
    return found


def _unwrap(root):
    """Step into a lone wrapper folder, as archives usually have (``cats_and_dogs_filtered/``)."""
    while True:
        visible, _ = _visible(root)
        folders = [p for p in visible if p.is_dir()]
        if len(folders) == 1 and not any(p.is_file() for p in visible) and not _split_folders(root):
            root = folders[0]
        else:
            return root


def _split_folders(root):
    visible, _ = _visible(root)
    return {SPLIT_ALIASES[p.name.lower()]: p for p in visible
            if p.is_dir() and p.name.lower() in SPLIT_ALIASES}


def _flat_class(path):
    prefix = path.name.split(".")[0].lower()
    return prefix if prefix.endswith("s") else prefix + "s"


def stratified_split(paths, seed=0, validation_share=VALIDATION_SHARE):
    """Split one class's photos into train/validation the same way on every machine.

    The order comes from a hash of each file name and the
    seed, not from the file system's order, so the split is reproducible anywhere.
    """
    def key(path):
        return hashlib.sha1(f"{seed}:{path.name}".encode("utf-8", "surrogateescape")).hexdigest()

    ordered = sorted(paths, key=key)
    n_validation = max(1, round(len(ordered) * validation_share)) if len(ordered) > 1 else 0
    return sorted(ordered[n_validation:]), sorted(ordered[:n_validation])


def detect_layout(root, seed=0):
    """Recognise the layout of ``root`` and list its files; see the module docstring.

    A folder that fits none of the layouts raises
    ``CatDogKitError`` saying which layouts are accepted.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise CatDogKitError(_("The photo folder {root} does not exist or is not a folder. Pass the folder that "
                               "holds train/ and validation/ (or the class folders).").format(root=root))
    root = _unwrap(root)
    splits = _split_folders(root)
    if "train" in splits and _class_folders(splits["train"]):
        return _split_layout(root, splits)
    if "train" in splits:  # Kaggle's own download: train/ holds cat.N.jpg and dog.N.jpg
        return _unsplit_layout(splits["train"], "flat", seed)
    petimages = root / "PetImages" if (root / "PetImages").is_dir() else root
    if len(_class_folders(petimages)) >= 2:
        return _unsplit_layout(petimages, "petimages", seed)
    return _unsplit_layout(root, "flat", seed)


def _split_layout(root, splits):
    layout = Layout(root, "split", [], {})
    layout.hidden = _visible(root)[1]
    names = set()
    for split, folder in splits.items():
        layout.hidden += _visible(folder)[1]
        layout.files[split] = {p.name: _collect(p, layout) for p in _class_folders(folder)}
        names.update(layout.files[split])
    layout.class_names = sorted(names)
    for per_class in layout.files.values():
        for name in layout.class_names:
            per_class.setdefault(name, [])
    return layout


def _unsplit_layout(root, kind, seed):
    layout = Layout(root, kind, [], {}, made_split=True)
    layout.hidden = _visible(root)[1]
    if kind == "petimages":
        by_class = {p.name: _collect(p, layout) for p in _class_folders(root)}
    else:
        by_class = {}
        for path in _collect(root, layout):
            by_class.setdefault(_flat_class(path), []).append(path)
    layout.class_names = sorted(by_class)
    layout.files = {"train": {}, "validation": {}}
    for name, paths in by_class.items():
        layout.files["train"][name], layout.files["validation"][name] = stratified_split(paths, seed)
    return layout
