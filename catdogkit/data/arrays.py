"""A few hundred photos of a dataset as NumPy arrays, for galleries and side-by-side views.

Introduced in lesson 07 (the improved model).
"""
import numpy as np

from catdogkit.errors import CatDogKitError


def photos_and_labels(dataset, limit=None):
    """Photos and labels of a labelled ``tf.data`` dataset as NumPy arrays, at most ``limit``.

    For galleries and side-by-side comparisons on a few hundred photos (the validation
    split of the lesson sample): float32 ``(N, S, S, 3)`` 0..255 and int ``(N,)``.
    Never use it on a whole large data set: training streams instead.

    Introduced in lesson 07.
    """
    photos, labels, count = [], [], 0
    for images, batch_labels in dataset:
        photos.append(np.asarray(images, dtype=np.float32))
        labels.append(np.asarray(batch_labels).reshape(-1).astype(int))
        count += len(labels[-1])
        if limit is not None and count >= limit:
            break
    if not photos:
        raise CatDogKitError("the dataset holds no photos")
    return np.concatenate(photos)[:limit], np.concatenate(labels)[:limit]
