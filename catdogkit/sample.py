"""The embedded sample: cartoon cats and dogs drawn on demand, so every lesson runs offline.

Introduced in lesson 01 (utility functions). The class is carried only by *shape*:
cats have pointed ears, a short flat face, almond eyes with slit pupils and whiskers;
dogs have drooping ears, a long muzzle with a big nose and sometimes a tongue. Pose,
size, fur colour and pattern, background, clutter, lighting and noise are drawn from the
same distributions for both classes, so no colour or single pixel gives the class away
and a network has to learn shapes, as it must with real photos.
"""
import math
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from catdogkit.constants import CLASS_NAMES
from catdogkit.files import abandoned_builds, build_folder_atomically
from catdogkit.runtime import cache_dir

CLASSES = CLASS_NAMES
SPLITS = ("train", "validation", "test")
DEFAULT_COUNTS = {"train": 500, "validation": 200, "test": 200}
# Bump when the drawing changes, so cached samples drawn the old way are not reused.
DRAWING_VERSION = 4
_SUPERSAMPLE = 2
# Below this many photos, starting worker processes costs more than it saves.
_PARALLEL_FROM = 600
_ABANDONED_AFTER_S = 3600

_FUR = np.array([
    (214, 137, 60), (120, 72, 40), (40, 36, 34), (128, 128, 132), (236, 230, 218),
    (222, 196, 150), (196, 150, 80), (90, 60, 50), (170, 110, 70), (200, 200, 205),
], dtype=float)
_EYE = np.array([(120, 170, 60), (210, 170, 40), (110, 70, 30), (60, 110, 160), (70, 50, 30)], dtype=float)
_NOSE = np.array([(230, 140, 150), (30, 25, 25), (110, 70, 60), (190, 110, 110)], dtype=float)


def _jitter(rng, palette, amount=25):
    colour = palette[rng.integers(len(palette))] + rng.normal(0, amount, 3)
    return tuple(int(v) for v in np.clip(colour, 0, 255))


def _shade(colour, factor):
    return tuple(int(min(255, max(0, c * factor))) for c in colour)


def _pale(rng, colour):
    # A lighter patch round the mouth, in both classes: its size, not its colour, differs.
    mix = rng.uniform(0.3, 0.8)
    return tuple(int(c + (240 - c) * mix) for c in colour)


class _Pose:
    """Maps head coordinates (units of head radius, y down) to canvas pixels."""

    def __init__(self, cx, cy, radius, angle, squash):
        self.cx, self.cy, self.r, self.squash = cx, cy, radius, squash
        self.cos, self.sin = math.cos(angle), math.sin(angle)

    def __call__(self, x, y):
        x, y = x * self.r * self.squash, y * self.r
        return (self.cx + x * self.cos - y * self.sin, self.cy + x * self.sin + y * self.cos)

    def ellipse(self, x, y, rx, ry, tilt=0.0, n=28):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        ex, ey = rx * np.cos(t), ry * np.sin(t)
        c, s = math.cos(tilt), math.sin(tilt)
        return [self(x + a * c - b * s, y + a * s + b * c) for a, b in zip(ex, ey)]

    def poly(self, points):
        return [self(x, y) for x, y in points]


def _background(rng, size):
    """A two-colour gradient plus clutter shapes: the same for cats and dogs."""
    image = Image.fromarray(_gradient(rng, size // _SUPERSAMPLE)).resize((size, size), Image.BILINEAR)
    _clutter(ImageDraw.Draw(image), rng, size, rng.integers(1, 6))
    return image


def _gradient(rng, size):
    # Smooth, so drawn at the final size and enlarged: a quarter of the arithmetic.
    # Muted towards grey, as a photo's out-of-focus background is: the animal stands out.
    a, b = (0.55 * rng.uniform(0, 255, (2, 3)) + 0.45 * rng.uniform(60, 200)).astype(np.float32)
    t = _ramp(rng, size)[..., None] * 0.5 + 0.5
    return (a * (1 - t) + b * t).astype(np.uint8)


def _ramp(rng, size):
    theta = rng.uniform(0, 2 * np.pi)
    ramp = np.linspace(-1, 1, size, dtype=np.float32)
    return np.cos(theta) * ramp[None, :] + np.sin(theta) * ramp[:, None]


def _clutter(draw, rng, size, count):
    # Triangles and round blobs appear in both classes, so "a triangle somewhere"
    # or "something round" never tells cat from dog: only the head's parts do.
    for _ in range(count):
        # Muted towards grey: clutter distracts, but less than the animal stands out.
        colour = tuple(int(v) for v in 0.6 * rng.uniform(0, 255, 3) + 0.4 * 128)
        x, y = rng.uniform(0, size, 2)
        r = rng.uniform(0.03, 0.14) * size
        kind = rng.integers(4)
        if kind == 0:
            draw.ellipse([x - r, y - r * rng.uniform(0.4, 1), x + r, y + r], fill=colour)
        elif kind == 1:
            draw.rectangle([x - r, y - r * rng.uniform(0.2, 1), x + r, y + r], fill=colour)
        elif kind == 2:
            angles = rng.uniform(0, 2 * np.pi) + np.array([0, 2.1, 4.2]) + rng.normal(0, 0.3, 3)
            draw.polygon([(x + r * math.cos(t), y + r * math.sin(t)) for t in angles], fill=colour)
        else:
            x2, y2 = rng.uniform(0, size, 2)
            draw.line([x, y, x2, y2], fill=colour, width=int(rng.integers(2, 10)))


def _fur_texture(rng, size, colour):
    """Fur colour with stripes, spots or plain: one shared recipe for both classes."""
    small = size // _SUPERSAMPLE
    base = np.empty((small, small, 3), dtype=np.float32)
    base[:] = colour
    kind = rng.integers(3)
    if kind == 0:
        wave = np.sin(_ramp(rng, small) * rng.uniform(10, 30) + rng.uniform(0, 6))
        dark = (wave > rng.uniform(0.2, 0.7))[..., None]
        base = np.where(dark, base * rng.uniform(0.45, 0.75), base)
    base *= 1 + 0.04 * rng.standard_normal((small, small, 1), dtype=np.float32)
    texture = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize((size, size), Image.BILINEAR)
    if kind == 1:
        draw = ImageDraw.Draw(texture)
        for _ in range(rng.integers(4, 14)):
            x, y, r = rng.uniform(0, size), rng.uniform(0, size), rng.uniform(0.03, 0.1) * size
            draw.ellipse([x - r, y - r, x + r, y + r], fill=_shade(colour, rng.uniform(0.4, 1.4)))
    return texture


def _cat_outline(rng, pose):
    ear_h, ear_w = rng.uniform(0.65, 1.0), rng.uniform(0.45, 0.65)
    ears = []
    for side in (-1, 1):
        base_in, base_out = (side * 0.15, -0.85), (side * (0.15 + ear_w + 0.3), -0.55)
        apex = (side * rng.uniform(0.55, 0.85), -0.85 - ear_h)
        ears.append(pose.poly([base_in, apex, base_out]))
    head = pose.ellipse(0, 0, 1.0, rng.uniform(0.82, 0.95))
    return [head] + ears, {"ears": ears}


def _dog_outline(rng, pose):
    ear_len, ear_w = rng.uniform(0.7, 1.05), rng.uniform(0.22, 0.32)
    ears = []
    for side in (-1, 1):
        tilt = side * rng.uniform(0.05, 0.45)
        ears.append(pose.ellipse(side * 0.82, -0.15 + ear_len * 0.35, ear_w, ear_len * 0.6, tilt))
    head = pose.ellipse(0, 0, rng.uniform(0.82, 0.92), 1.0)
    snout = pose.ellipse(0, 0.55, rng.uniform(0.38, 0.5), rng.uniform(0.4, 0.5))
    return [head, snout], {"ears": ears}


def _eyes(draw, rng, pose, slit):
    colour = _jitter(rng, _EYE, 15)
    spread, height = rng.uniform(0.3, 0.42), rng.uniform(-0.25, -0.05)
    for side in (-1, 1):
        x = side * spread
        if slit:
            draw.polygon(pose.ellipse(x, height, 0.19, 0.12, side * 0.25), fill=colour)
            draw.polygon(pose.ellipse(x, height, 0.035, 0.11), fill=(10, 10, 10))
        else:
            draw.polygon(pose.ellipse(x, height, 0.13, 0.13), fill=colour)
            draw.polygon(pose.ellipse(x, height, 0.075, 0.075), fill=(10, 10, 10))
            draw.polygon(pose.ellipse(x + 0.03, height - 0.04, 0.025, 0.025), fill=(245, 245, 245))


def _cat_face(draw, rng, pose, fur, extras):
    inner = _jitter(rng, _NOSE, 20)
    for ear in extras["ears"]:
        (x1, y1), (x2, y2), (x3, y3) = ear
        mx, my = (x1 + x2 + x3) / 3, (y1 + y2 + y3) / 3
        draw.polygon([(mx + (x - mx) * 0.55, my + (y - my) * 0.55) for x, y in ear], fill=inner)
    if rng.random() < 0.5:
        draw.polygon(pose.ellipse(0, 0.38, 0.32, 0.2), fill=_pale(rng, fur))
    _eyes(draw, rng, pose, slit=True)
    nose = _jitter(rng, _NOSE, 20)
    draw.polygon(pose.poly([(-0.09, 0.2), (0.09, 0.2), (0, 0.31)]), fill=nose)
    width = max(1, int(pose.r * 0.035))
    line = (20, 20, 20) if sum(fur) > 330 else (235, 235, 235)
    draw.line(pose.poly([(-0.16, 0.45), (0, 0.33), (0.16, 0.45)]), fill=line, width=width)
    for side in (-1, 1):
        for k, slope in enumerate((-0.12, 0.0, 0.12)):
            start = (side * 0.22, 0.32 + 0.05 * k)
            end = (side * rng.uniform(1.05, 1.45), 0.32 + 0.05 * k + slope * 3 + rng.normal(0, 0.05))
            draw.line(pose.poly([start, end]), fill=line, width=width)


def _dog_face(draw, rng, pose, fur, extras):
    ear_colour = _shade(fur, rng.choice([rng.uniform(0.45, 0.75), rng.uniform(1.25, 1.5)]))
    for ear in extras["ears"]:
        draw.polygon(ear, fill=ear_colour)
    if rng.random() < 0.7:
        draw.polygon(pose.ellipse(0, 0.58, 0.42, 0.36), fill=_pale(rng, fur))
    _eyes(draw, rng, pose, slit=False)
    draw.polygon(pose.ellipse(0, 0.42, rng.uniform(0.18, 0.25), rng.uniform(0.12, 0.16)),
                 fill=_jitter(rng, _NOSE, 20))
    width = max(1, int(pose.r * 0.035))
    line = (20, 20, 20) if sum(fur) > 330 else (235, 235, 235)
    draw.line(pose.poly([(0, 0.55), (0, 0.78)]), fill=line, width=width)
    draw.line(pose.poly([(-0.3, 0.85), (0, 0.78), (0.3, 0.85)]), fill=line, width=width)
    if rng.random() < 0.5:
        draw.polygon(pose.ellipse(0, 0.98, 0.13, rng.uniform(0.12, 0.22)), fill=(220, 90, 110))


def _outline(draw, shapes, pose, fur):
    # A cartoon's ink line round head and ears, in both classes: the silhouette's
    # shape (pointed or drooping) is what carries the class, the line only shows it.
    ink = _shade(fur, 0.35)
    for shape in shapes:
        draw.line(shape + shape[:1], fill=ink, width=max(2, int(pose.r * 0.05)), joint="curve")


def _body(draw, rng, pose, fur):
    # A neck and shoulders under the head, the same for both classes.
    outline = pose.ellipse(0, 1.9, rng.uniform(1.0, 1.5), 1.3)
    draw.polygon(outline, fill=_shade(fur, rng.uniform(0.8, 1.1)))
    return outline


class _AlsoOnMask:
    """Draws each shape on the photo and, in white, on the animal's mask.

    Ears, whiskers, the ink line and the tongue reach past the head's outline; the mask
    must hold them too, or a map that points at a dog's ear would count as a miss.
    """

    def __init__(self, draw, mask_draw):
        self.draw, self.mask_draw = draw, mask_draw

    def polygon(self, points, fill):
        self.draw.polygon(points, fill=fill)
        self.mask_draw.polygon(points, fill=255)

    def line(self, points, fill, width, joint=None):
        self.draw.line(points, fill=fill, width=width, joint=joint)
        self.mask_draw.line(points, fill=255, width=width, joint=joint)


def _light_and_noise(rng, image, size):
    pixels = np.asarray(image, dtype=np.float32)
    gain = rng.uniform(0.7, 1.2) * (1 + rng.uniform(0, 0.35) * _ramp(rng, size))
    noise = rng.standard_normal(pixels.shape, dtype=np.float32) * rng.uniform(2, 10)
    return np.clip(pixels * gain[..., None] + noise, 0, 255).astype(np.uint8)


def draw_photo(class_name, rng, image_size=150, *, with_mask=False):
    """Draw one cartoon photo of ``class_name`` ("cats" or "dogs") as uint8 ``(S, S, 3)``.

    ``rng`` is a ``numpy.random.Generator``; the same state
    always draws the same photo. ``with_mask=True`` also returns where the animal is
    (head with its ears, whiskers and ink line, neck and shoulders) as bool ``(S, S)``:
    the truth that Grad-CAM is measured against (``benchmarks/gradcam.py``); the photo
    is the same either way.
    """
    if class_name not in CLASSES:
        from catdogkit.errors import CatDogKitError
        from catdogkit.i18n import _
        raise CatDogKitError(_("draw_photo: class {name} is not one of {classes}.").format(
            name=repr(class_name), classes=CLASSES))
    size = image_size * _SUPERSAMPLE
    canvas = _background(rng, size)
    radius = size * rng.uniform(0.24, 0.34)
    pose = _Pose(rng.uniform(radius, size - radius), rng.uniform(radius * 1.4, size - radius * 0.6),
                 radius, rng.normal(0, 0.2), rng.uniform(0.88, 1.12))
    fur = _jitter(rng, _FUR)
    draw = ImageDraw.Draw(canvas)
    body = _body(draw, rng, pose, fur)
    is_cat = class_name == "cats"
    shapes, extras = (_cat_outline if is_cat else _dog_outline)(rng, pose)
    mask = Image.new("L", (size, size), 0)
    mask_draw = ImageDraw.Draw(mask)
    for shape in shapes:
        mask_draw.polygon(shape, fill=255)
    canvas.paste(_fur_texture(rng, size, fur), (0, 0), mask)
    animal = _AlsoOnMask(draw, mask_draw)
    _outline(animal, shapes, pose, fur)
    (_cat_face if is_cat else _dog_face)(animal, rng, pose, fur, extras)
    _clutter(draw, rng, size, int(rng.random() < 0.2))
    small = canvas.reduce(_SUPERSAMPLE)
    pixels = _light_and_noise(rng, small, image_size)
    if not with_mask:
        return pixels
    mask_draw.polygon(body, fill=255)
    return pixels, np.asarray(mask.reduce(_SUPERSAMPLE)) >= 128


def photo_rng(seed, split, class_index, index):
    """The generator that draws photo ``index`` of a class and split of the sample ``seed``.

    One generator per photo, keyed by its place in the set: the same photo comes out
    whatever the number of worker processes, and can be drawn again alone (with its mask).
    """
    return np.random.default_rng([seed, SPLITS.index(split), class_index, index])


def _counts(n_per_class):
    if n_per_class is None:
        return dict(DEFAULT_COUNTS)
    if isinstance(n_per_class, int):
        share = max(1, round(n_per_class * DEFAULT_COUNTS["validation"] / DEFAULT_COUNTS["train"]))
        return {"train": n_per_class, "validation": share, "test": share}
    counts = {split: int(n_per_class.get(split, 0)) for split in SPLITS}
    if counts["train"] < 1 or counts["validation"] < 1:
        from catdogkit.errors import CatDogKitError
        from catdogkit.i18n import _
        raise CatDogKitError(_(
            "make_sample: n_per_class={counts} needs at least 1 train and 1 validation photo per class.").format(
                counts=repr(n_per_class)))
    return counts


def _jobs(counts, seed, image_size):
    return [(split, class_index, i, seed, image_size)
            for split_index, split in enumerate(SPLITS)
            for class_index in range(len(CLASSES))
            for i in range(counts[split])]


def _write_chunk(folder, jobs):
    for split, class_index, i, seed, image_size in jobs:
        name = CLASSES[class_index]
        pixels = draw_photo(name, photo_rng(seed, split, class_index, i), image_size)
        Image.fromarray(pixels).save(Path(folder, split, name, f"{name[:-1]}.{i}.jpg"), quality=90)
    return len(jobs)


def _write_all(folder, jobs):
    workers = min(os.cpu_count() or 1, 8)
    if len(jobs) < _PARALLEL_FROM or workers == 1:
        _write_chunk(folder, jobs)
        return
    chunks = [jobs[k::workers * 4] for k in range(workers * 4)]
    # "spawn": the parent may already hold TensorFlow's threads, which fork can deadlock.
    try:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            list(pool.map(_write_chunk, [str(folder)] * len(chunks), chunks))
    except BrokenProcessPool:
        # Spawned workers re-run the caller's script; one without an
        # `if __name__ == "__main__":` guard kills them. Drawing is deterministic,
        # so drawing everything here gives the same photos, only slower.
        _write_chunk(folder, jobs)


def _remove_abandoned(final):
    # A run killed while drawing leaves its temporary folder; a recent one may still be
    # another process at work, so only stale ones go.
    for leftover in abandoned_builds(final):
        if time.time() - leftover.stat().st_mtime > _ABANDONED_AFTER_S:
            shutil.rmtree(leftover, ignore_errors=True)


def sample_dir(n_per_class=None, *, image_size=150, seed=0):
    """The folder ``make_sample`` writes for these settings (it may not exist yet).

    ``catdogkit data where`` uses it to answer without drawing.
    """
    counts = _counts(n_per_class)
    key = (f"v{DRAWING_VERSION}-s{image_size}-seed{seed}-"
           + "-".join(f"{split}{counts[split]}" for split in SPLITS))
    return cache_dir("sample") / key


def make_sample(n_per_class=None, *, image_size=150, seed=0):
    """Draw the embedded sample into the cache once and return its folder.

    ``n_per_class`` is the train photos per class (validation
    and test get 40 % of that each) or a dict ``{"train": n, "validation": n, "test": n}``;
    the default is the lessons' sample (500 / 200 / 200 per class at 150x150). Layout:
    ``train|validation|test/{cats,dogs}/{cat,dog}.N.jpg``. The set is written to a
    temporary folder and renamed when complete, so an interrupted run never leaves a
    half set that a later call would trust.
    """
    counts = _counts(n_per_class)
    final = sample_dir(counts, image_size=image_size, seed=seed)
    if final.is_dir():
        return final
    _remove_abandoned(final)

    def fill(work):
        for split in SPLITS:
            for name in CLASSES:
                if counts[split]:
                    (work / split / name).mkdir(parents=True)
        _write_all(work, _jobs(counts, seed, image_size))
    build_folder_atomically(final, fill)
    return final
