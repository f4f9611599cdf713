"""Stream photos from disk into a network with ``tf.data``: never the whole set in memory.

Introduced in lesson 00. The class manual loaded every photo into one NumPy array (or
used the retired ``ImageDataGenerator``); here each batch is read, decoded and resized
on the fly, in parallel, while the network trains on the previous one, so memory stays
flat whether the set holds 2,000 or 25,000 photos. Files that ``check_photos`` found
unusable are left out and counted; files TensorFlow cannot decode itself (CMYK JPEG,
WebP…) go through Pillow instead.
"""
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from catdogkit.data.checks import check_photos, inspect_photo, MAX_PIXELS
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _, format_number, ngettext
from catdogkit.runtime import cache_dir

# Shuffling decoded photos needs a buffer of them in memory: keep it small and fixed.
_CACHED_SHUFFLE_BUFFER = 256
# Fixed, not AUTOTUNE: autotuning keeps enlarging buffers during a long epoch, so peak
# memory grew with the number of photos. One decoder per core and two batches ahead
# already keep a CPU or GPU busy.
_WORKERS = os.cpu_count() or 2
_PREFETCH_BATCHES = 2


@dataclass
class Datasets:
    """The three streamed splits and what went into them. Introduced in lesson 00.

    ``train``/``validation``/``test`` yield ``(float32 (B, S, S, 3) 0..255, float32 (B,))``;
    ``test`` is None when the folder has no test split. ``counts[split][class]`` are the
    photos used; ``skipped`` the unusable files left out.
    """

    train: object
    validation: object
    test: object
    class_names: list
    counts: dict
    skipped: int
    root: Path
    report: object


def _to_rgb(image, image_size):
    with image:
        rgb = image.convert("RGBA").convert("RGB") if image.mode in ("P", "PA") else image.convert("RGB")
    return np.asarray(rgb.resize((image_size, image_size), Image.BILINEAR), dtype=np.float32)


def load_photo(path_or_bytes, image_size=150):
    """Read one photo (a path or the file's bytes) as float32 ``(S, S, 3)``, values 0..255.

    Introduced in lesson 04. Any format Pillow reads (grayscale, CMYK, PNG with
    transparency, WebP…) is converted to RGB; an unusable file raises ``CatDogKitError``
    that says why.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return _load_bytes(bytes(path_or_bytes), image_size)
    path = Path(path_or_bytes)
    if not path.is_file():
        raise CatDogKitError(_("No photo at {path}: check the path.").format(path=path))
    verdict = inspect_photo(path)
    if verdict.reason:
        raise CatDogKitError(_("Cannot use {path}: {reason}. Choose another photo.").format(
            path=path, reason=verdict.reason.shown()))
    return _to_rgb(Image.open(path), image_size)


def _load_bytes(data, image_size):
    try:
        image = Image.open(io.BytesIO(data))
        if image.size[0] * image.size[1] > MAX_PIXELS:
            raise CatDogKitError(_("The uploaded photo is {width}x{height} pixels, over the {limit}-pixel limit: "
                                   "resize it and try again.").format(
                width=image.size[0], height=image.size[1], limit=format_number(MAX_PIXELS)))
        image.load()
    except CatDogKitError:
        raise
    except Exception as error:
        raise CatDogKitError(_("The uploaded file ({size} bytes) is not a photo that can be decoded ({error}). "
                               "Try a JPEG or PNG.").format(size=format_number(len(data)), error=error)) from error
    return _to_rgb(image, image_size)


def list_photos(root, split="validation", class_name=None):
    """The usable photos of one split (and class), sorted. Introduced in lesson 04."""
    report = check_photos(root)
    if split not in report.photos:
        raise CatDogKitError(_("{root} has no '{split}' split; it has {splits}.").format(
            root=report.root, split=split, splits=sorted(report.photos)))
    if class_name is not None and class_name not in report.class_names:
        raise CatDogKitError(_("No class '{name}' in {root}; classes: {names}.").format(
            name=class_name, root=report.root, names=report.class_names))
    wanted = None if class_name is None else report.class_names.index(class_name)
    return sorted(path for path, label, _needs in report.photos[split] if wanted in (None, label))


def first_photos(root, split="validation", per_class=4):
    """``{label: path}`` of the first ``per_class`` photos of each class, labelled
    ``"cat 1"``, ``"dog 2"``… from the class folders' names (for a photo picker).
    """
    names = check_photos(root).class_names
    return {f"{_singular(name)} {i + 1}": path for name in names
            for i, path in enumerate(list_photos(root, split, name)[:per_class])}


def _singular(name):
    return name[:-1] if name.endswith("s") else name


def augmentation(seed=None, *, rotation=40 / 360, shift=0.2, zoom=0.2):
    """Random changes of a photo that keep its label, as Keras layers active only while training.

    Introduced in lesson 01 (used from lesson 07). The defaults are the class manual's
    augmenting ``ImageDataGenerator(rotation_range=40, width_shift_range=0.2,
    height_shift_range=0.2, zoom_range=0.2, horizontal_flip=True)`` without its shear:
    the old ``rotation_range=40`` was in degrees, ``RandomRotation`` takes fractions of a
    full turn, hence ``40 / 360``. The improved network uses the same layers with its own
    amounts (:data:`catdogkit.models.IMPROVED_AUGMENTATION`); ``shift=0`` leaves shifts out.
    """
    import keras
    from keras import layers
    steps = [layers.RandomFlip("horizontal", seed=seed, name="flip"),
             layers.RandomRotation(rotation, fill_mode="reflect", seed=seed, name="rotate")]
    if shift:
        steps.append(layers.RandomTranslation(shift, shift, fill_mode="reflect", seed=seed, name="shift"))
    steps.append(layers.RandomZoom(zoom, fill_mode="reflect", seed=seed, name="zoom"))
    return keras.Sequential(steps, name="augmentation")


def _decoder(image_size):
    import tensorflow as tf

    def with_pillow(path):
        return _to_rgb(Image.open(path.decode("utf-8", "surrogateescape")), int(image_size))

    def jpeg(data):
        # libjpeg can decode straight to 1/2 or 1/4 size (DCT scaling), several times
        # faster than decoding every pixel and throwing most away in the resize.
        shape = tf.image.extract_jpeg_shape(data)
        short_side = tf.minimum(shape[0], shape[1])
        return tf.cond(
            short_side >= 4 * image_size, lambda: tf.io.decode_jpeg(data, channels=3, ratio=4),
            lambda: tf.cond(short_side >= 2 * image_size, lambda: tf.io.decode_jpeg(data, channels=3, ratio=2),
                            lambda: tf.io.decode_jpeg(data, channels=3)))

    def with_tensorflow(path):
        data = tf.io.read_file(path)
        image = tf.cond(tf.io.is_jpeg(data), lambda: jpeg(data),
                        lambda: tf.io.decode_image(data, channels=3, expand_animations=False))
        return tf.image.resize(image, [image_size, image_size])

    def decode(path, label, convert):
        image = tf.cond(convert, lambda: tf.numpy_function(with_pillow, [path], tf.float32),
                        lambda: with_tensorflow(path))
        image.set_shape([image_size, image_size, 3])
        return image, label

    return decode


def _cache_path(cache, report, split, image_size):
    # "u8" names the stored format, so a cache written as float32 by an older kit is
    # never read back as uint8.
    if cache is True:
        key = hashlib.sha1(f"{report.root.resolve()}|{split}|{image_size}".encode()).hexdigest()[:16]
        return str(cache_dir("tfdata") / f"{split}-{key}-u8")
    return str(Path(cache, f"{split}-{image_size}-u8"))


def _shuffled_indices(n, seed, each_epoch):
    """0..n-1 in a seeded random order, new each epoch, without a shuffle buffer.

    A ``shuffle(n)`` buffer holds one element per photo; a stateless index permutation
    holds nothing, so memory stays the same for 2,500 or 25,000 photos.
    """
    import tensorflow as tf
    epoch_keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=each_epoch).take(1)
    last = tf.constant(n - 1, tf.int64)

    def permutation(key):
        key = tf.stack([key, tf.constant(seed, tf.int64)])
        return tf.data.Dataset.range(n).map(
            lambda i: tf.random.experimental.index_shuffle(i, key, last))

    # flat_map hides the length; without it Keras warns "ran out of data" every epoch.
    return epoch_keys.flat_map(permutation).apply(tf.data.experimental.assert_cardinality(n))


def _stream(items, *, image_size, batch_size, seed, training, cache_file, augment):
    import tensorflow as tf
    columns = (tf.constant([str(path) for path, _, _ in items]),
               tf.constant(np.array([label for _, label, _ in items], dtype=np.float32)),
               tf.constant(np.array([needs for _, _, needs in items], dtype=bool)))
    order = _shuffled_indices(len(items), seed, cache_file is None) if training else \
        tf.data.Dataset.range(len(items))
    dataset = order.map(lambda i: tuple(tf.gather(column, i) for column in columns))
    dataset = dataset.map(_decoder(image_size), num_parallel_calls=_WORKERS, deterministic=True)
    if cache_file:
        # uint8 photos fill a quarter of the disk of float32 ones and read back 4x faster;
        # rounding moves a value by at most 0.5 of 255.
        dataset = dataset.map(lambda image, label: (tf.cast(tf.round(image), tf.uint8), label),
                              num_parallel_calls=_WORKERS).cache(cache_file)
        if training:
            dataset = dataset.shuffle(_CACHED_SHUFFLE_BUFFER, seed=seed)
    dataset = dataset.batch(batch_size)
    if cache_file:
        dataset = dataset.map(lambda images, labels: (tf.cast(images, tf.float32), labels))
    if augment is not None:
        dataset = dataset.map(lambda x, y: (augment(x, training=True), y),
                              num_parallel_calls=_WORKERS)
    return dataset.prefetch(_PREFETCH_BATCHES)


def _provenance(items, image_size, batch_size, seed, augment):
    """A digest of the photo files (path, size, label) and the settings.

    Not the files' dates: Colab draws the sample and extracts the photo archive afresh in
    every session, and the views kept on Drive for these photos must still be found by the
    next session (as the lesson models are, see ``catdogkit.training.lesson_model``).
    """
    digest = hashlib.sha256(f"{image_size}:{batch_size}:{seed}:{bool(augment)}".encode())
    for path, label, _convert in items:
        digest.update(f"{path}:{os.stat(path).st_size}:{label}\n".encode())
    return digest.hexdigest()


def load_datasets(root=None, *, image_size=150, batch_size=32, seed=1337, augment=False,
                  cache=None, announce=print):
    """Streamed ``tf.data`` datasets for the train, validation and (if present) test photos.

    Introduced in lesson 00. ``root`` defaults to what ``find_data`` finds. Training
    photos are shuffled with ``seed`` (the same order on every run); ``augment=True``
    adds the ``augmentation`` layers to the training stream. ``cache=True`` (or a
    folder) keeps decoded photos in files on disk after the first epoch, never in memory.
    Unusable files are left out and counted in ``.skipped``.
    """
    if root is None:
        from catdogkit.data.sources import find_data
        root = find_data(announce=announce).root
    report = check_photos(root)
    if report.exit_code == 2:
        raise CatDogKitError(_("The photos cannot be used:") + "\n" + "\n".join(report.problems))
    if report.unusable:
        announce(ngettext(
            "Left out {n} unusable file in {root}; `catdogkit data check \"{root}\"` shows it with the reason.",
            "Left out {n} unusable files in {root}; `catdogkit data check \"{root}\"` lists them with the reason.",
            len(report.unusable)).format(n=len(report.unusable), root=report.root))
    augment_layers = augmentation(seed) if augment else None
    streams = {}
    for split, items in report.photos.items():
        if not items:  # an empty optional test/ folder
            continue
        streams[split] = _stream(
            items, image_size=image_size, batch_size=batch_size, seed=seed,
            training=split == "train",
            cache_file=_cache_path(cache, report, split, image_size) if cache else None,
            augment=augment_layers if split == "train" else None)
        # What the stream holds, so views computed from it can be kept (catdogkit.viewcache).
        streams[split].catdogkit_source = _provenance(
            items, image_size, batch_size, seed if split == "train" else None,
            augment and split == "train")
    return Datasets(streams["train"], streams["validation"], streams.get("test"), report.class_names,
                    report.splits, len(report.unusable), report.root, report)
