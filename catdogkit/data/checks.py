"""Find the photos a network cannot use, say why, and never touch the user's files.

Introduced in lesson 01. Public photo sets contain empty files, truncated JPEGs, text
saved as ``.jpg`` and oversized images; others are fine but in a form TensorFlow's own
decoder refuses (CMYK JPEG, WebP, 16-bit PNG…) and are converted while loading. Files
are only ever opened for reading. Results are cached by path, size and modification
time, so checking a 25,000-photo set a second time takes a moment.
"""
import hashlib
import json
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from catdogkit.data.layouts import detect_layout
from catdogkit.files import write_text_atomically
from catdogkit.i18n import StoredMessage, _, _N_
from catdogkit.runtime import cache_dir

# Far above any real photo (Kaggle's largest is about 0.5 MP) and far below what
# would exhaust a free Colab's memory when decoded.
MAX_PIXELS = 40_000_000
# What TensorFlow's decode_image reads itself; everything else goes through Pillow.
_TF_NATIVE = {("JPEG", "RGB"), ("JPEG", "L"), ("PNG", "RGB"), ("PNG", "L"),
              ("PNG", "RGBA"), ("PNG", "LA"), ("PNG", "P")}
# 2: reasons and notes are kept as templates and values (i18n.StoredMessage), not English text.
_CACHE_VERSION = 2
# Signatures of files that are not photos Pillow can read, for a reason a person understands
# (kept as templates in the check cache; the report translates them when shown).
_SIGNATURES = (
    (b"ftypheic", _N_("an HEIC photo (iPhone format), which cannot be decoded here: convert it to JPEG")),
    (b"ftypheix", _N_("an HEIC photo (iPhone format), which cannot be decoded here: convert it to JPEG")),
    (b"ftypmif1", _N_("an HEIF photo, which cannot be decoded here: convert it to JPEG")),
    (b"ftypavif", _N_("an AVIF photo, which cannot be decoded here: convert it to JPEG")),
    (b"%PDF", _N_("a PDF document, not a photo")),
    (b"<svg", _N_("an SVG drawing, which cannot be decoded as a photo")),
    (b"<?xml", _N_("an XML/SVG file, not a photo")),
    (b"<!DOCTYPE html", _N_("a web page saved with a photo's name, not a photo")),
    (b"<html", _N_("a web page saved with a photo's name, not a photo")),
)


@dataclass
class Verdict:
    """One file's check (lesson 01): ``reason`` is None when usable; ``convert`` when Pillow must decode it."""

    reason: StoredMessage = None
    convert: bool = False
    note: StoredMessage = ""


@dataclass
class CheckReport:
    """What ``check_photos`` found. Introduced in lesson 01.

    ``photos[split]`` lists usable ``(path, label, convert)``; ``unusable`` lists
    ``(path, reason)``; ``problems`` says why a set cannot be used at all.
    """

    root: Path
    layout: str
    class_names: list
    photos: dict
    unusable: list
    converted: list
    hidden: int
    ignored: list
    made_split: bool
    problems: list = field(default_factory=list)

    @property
    def usable(self):
        return sum(len(items) for items in self.photos.values())

    @property
    def splits(self):
        return {split: {name: sum(1 for _, label, _ in items if label == index)
                        for index, name in enumerate(self.class_names)}
                for split, items in self.photos.items()}

    @property
    def classes(self):
        totals = dict.fromkeys(self.class_names, 0)
        for per_class in self.splits.values():
            for name, count in per_class.items():
                totals[name] += count
        return totals

    @property
    def exit_code(self):
        """0: every photo usable; 1: some left out, the rest usable; 2: the set is unusable."""
        if self.problems:
            return 2
        return 1 if self.unusable else 0

    def as_dict(self):
        return {
            "root": str(self.root), "layout": self.layout, "made_split": self.made_split,
            "usable": self.usable, "classes": self.classes, "splits": self.splits,
            "unusable": [{"path": str(p), "reason": r.shown()} for p, r in self.unusable],
            "converted": [{"path": str(p), "note": n.shown()} for p, n in self.converted],
            "hidden": self.hidden, "ignored": [str(p) for p in self.ignored],
            "problems": self.problems, "exit_code": self.exit_code,
        }

    def summary(self):
        """A few lines a student can read: counts per split and class, then every problem."""
        layout = _("{root} ({layout} layout").format(root=self.root, layout=self.layout)
        lines = [layout + (_(", split made by the kit: 80 % train / 20 % validation)")
                           if self.made_split else ")")]
        for split, per_class in self.splits.items():
            lines.append(f"  {_(split):<10} " + ", ".join(f"{n} {name}" for name, n in per_class.items()))
        lines.append(_("  usable: {usable}, left out: {left_out}, converted while loading: {converted}, "
                       "hidden files ignored: {hidden}").format(
            usable=self.usable, left_out=len(self.unusable), converted=len(self.converted),
            hidden=self.hidden)
            + (_(", other files ignored: {n}").format(n=len(self.ignored))
               if self.ignored else ""))
        lines += [_("  unusable: {path} — {reason}").format(path=p, reason=r.shown()) for p, r in self.unusable]
        lines += [_("  PROBLEM: {problem}").format(problem=problem) for problem in self.problems]
        return "\n".join(lines)


def _not_an_image(head):
    for signature, reason in _SIGNATURES:
        if signature in head[:64]:
            return StoredMessage(reason)
    try:
        head.decode("utf-8")
        return StoredMessage(_N_("a text file with a photo's name, not an image"))
    except UnicodeDecodeError:
        return StoredMessage(_N_("not an image in any format Pillow or TensorFlow can decode"))


def inspect_photo(path):
    """Open one file read-only and decide whether the network can use it."""
    path = Path(path)
    if path.stat().st_size == 0:
        return Verdict(StoredMessage(_N_("empty file (0 bytes)")))
    with open(path, "rb") as handle:
        head = handle.read(64)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own bomb warning would reach stderr
            with Image.open(path) as image:
                width, height = image.size
                if width * height > MAX_PIXELS:
                    return Verdict(StoredMessage(
                        _N_("{width}x{height} pixels is over the {limit}-pixel limit "
                            "(a decompression bomb or a scan): resize it"),
                        width=str(width), height=str(height), limit=MAX_PIXELS))
                image.load()
                return _usable(image, path)
    except Image.DecompressionBombError:
        return Verdict(StoredMessage(
            _N_("far over the {limit}-pixel limit (a decompression bomb): not opened"), limit=MAX_PIXELS))
    except UnidentifiedImageError:
        return Verdict(_not_an_image(head))
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        return Verdict(StoredMessage(_N_("truncated or corrupt image data ({detail})"), detail=str(error)))


def _usable(image, path):
    kind = (image.format, image.mode)
    notes = []
    if image.mode not in ("RGB",):
        notes.append([_N_("{mode} converted to RGB"), {"mode": image.mode}])
    if image.format and path.suffix.lower().lstrip(".") not in _suffixes(image.format):
        notes.append([_N_("{image_format} named {suffix}"),
                      {"image_format": image.format, "suffix": path.suffix}])
    note = StoredMessage.from_parts(notes) if notes else ""
    return Verdict(None, convert=kind not in _TF_NATIVE, note=note)


def _suffixes(image_format):
    extra = {"JPEG": {"jpg", "jpeg", "jpe"}, "TIFF": {"tif", "tiff"}}
    return extra.get(image_format, set()) | {image_format.lower()}


def _cache_file(root):
    key = hashlib.sha1(str(Path(root).resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return cache_dir("checks") / f"{key}.json"


def _load_cache(root):
    try:
        data = json.loads(_cache_file(root).read_text())
    except (OSError, ValueError):
        return {}
    return data.get("files", {}) if data.get("version") == _CACHE_VERSION else {}


def _save_cache(root, entries):
    write_text_atomically(_cache_file(root), json.dumps({"version": _CACHE_VERSION, "files": entries}))


def _inspect_all(root, paths):
    """Verdicts for ``paths``, reusing cached ones whose size and mtime did not change."""
    cached, entries, todo = _load_cache(root), {}, []
    stamps = {}
    for path in paths:
        info = path.stat()
        stamps[path] = [info.st_size, info.st_mtime_ns]
        hit = cached.get(str(path))
        if hit and hit[:2] == stamps[path]:
            entries[str(path)] = hit
        else:
            todo.append(path)
    # Pillow releases the GIL while decoding, so threads check photos in parallel.
    with ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1))) as pool:
        for path, verdict in zip(todo, pool.map(inspect_photo, todo)):
            entries[str(path)] = stamps[path] + [verdict.reason and verdict.reason.parts, verdict.convert,
                                                 verdict.note and verdict.note.parts]
    if todo:
        _save_cache(root, entries)
    return {path: _from_cache(*entries[str(path)][2:]) for path in paths}


def _from_cache(reason, convert, note):
    """A cache entry's verdict: its reason and note made again from their templates and values."""
    return Verdict(reason and StoredMessage.from_parts(reason), convert,
                   note and StoredMessage.from_parts(note))


def check_photos(root, *, seed=0):
    """Scan every file under ``root`` and report usable and unusable photos per split and class.

    Introduced in lesson 01. Never modifies, moves or deletes a file. ``seed`` fixes the
    train/validation split made for folders that have none.
    """
    layout = detect_layout(root, seed)
    all_paths = [p for per_class in layout.files.values() for paths in per_class.values() for p in paths]
    verdicts = _inspect_all(layout.root, all_paths)
    photos, unusable, converted = {}, [], []
    for split, per_class in layout.files.items():
        photos[split] = []
        for label, name in enumerate(layout.class_names):
            for path in per_class.get(name, []):
                verdict = verdicts[path]
                if verdict.reason:
                    unusable.append((path, verdict.reason))
                    continue
                photos[split].append((path, label, verdict.convert))
                if verdict.note:
                    converted.append((path, verdict.note))
    report = CheckReport(layout.root, layout.kind, layout.class_names, photos, unusable, converted,
                         layout.hidden, layout.other, layout.made_split)
    report.problems = _problems(report)
    return report


def _problems(report):
    if not report.usable:
        return [_("No usable photos found in {root}. Put them in train/<class>/ and validation/<class>/ "
                  "folders, or name them cat.N.jpg / dog.N.jpg.").format(root=report.root)]
    if len(report.class_names) < 2:
        return [_("Only one class ({name}) in {root}: a classifier needs at least two class folders "
                  "(for example cats/ and dogs/).").format(name=report.class_names[0], root=report.root)]
    problems = []
    for split in ("train", "validation"):
        per_class = report.splits.get(split)
        if per_class is None:
            problems.append(_("No {split}/ folder in {root}: add one with a folder per class.").format(
                split=split, root=report.root))
            continue
        problems += [_("No usable {split} photos of class '{name}' in {root}: add some to "
                       "{split}/{name}/.").format(split=split, name=name, root=report.root)
                     for name, count in per_class.items() if count == 0]
    return problems
