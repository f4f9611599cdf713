"""A labelled dataset as NumPy arrays: streamed batch by batch, or a few hundred photos at once.

Introduced in lesson 07 (the improved model).
"""
import numpy as np

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _


def labelled_batches(dataset):
    """Each batch of a labelled ``tf.data`` dataset as NumPy arrays, one batch at a time.

    Yields ``(photos, labels)``: float32 ``(B, H, W, C)`` 0..255 and int ``(B,)``, so the
    kit's loops over many photos (evaluation, dense activations, channel views) hold one
    batch at a time. A dataset whose elements are not batches of photos with one label
    each (unbatched photos, one-hot labels, photos without labels) is a ``CatDogKitError``.
    """
    for position, element in enumerate(dataset):
        if not isinstance(element, (tuple, list)) or len(element) != 2:
            raise CatDogKitError(_(
                "batch {position} of the dataset is not a (photos, labels) pair: pass a labelled dataset, "
                "e.g. datasets.validation from catdogkit.data.load_datasets").format(position=position))
        photos = np.asarray(element[0], dtype=np.float32)
        labels = np.asarray(element[1]).reshape(-1).astype(int)
        if photos.ndim != 4:
            raise CatDogKitError(_(
                "batch {position} of the dataset holds photos of shape {shape}, not a batch (N, height, "
                "width, colours): batch the dataset (dataset.batch(32))").format(position=position, shape=photos.shape))
        if len(labels) != len(photos):
            raise CatDogKitError(_(
                "batch {position} of the dataset has {photos} photos but {labels} labels: give one class "
                "index per photo (0 or 1), not one-hot labels").format(
                    position=position, photos=len(photos), labels=len(labels)))
        yield photos, labels


def photos_and_labels(dataset, limit=None):
    """Photos and labels of a labelled ``tf.data`` dataset as NumPy arrays, at most ``limit``.

    For galleries and side-by-side comparisons on a few hundred photos (the validation
    split of the lesson sample): float32 ``(N, S, S, 3)`` 0..255 and int ``(N,)``.
    Never use it on a whole large data set: training streams instead.

    Introduced in lesson 07.
    """
    photos, labels, count = [], [], 0
    for batch, batch_labels in labelled_batches(dataset):
        photos.append(batch)
        labels.append(batch_labels)
        count += len(batch_labels)
        if limit is not None and count >= limit:
            break
    if not photos:
        raise CatDogKitError(_("the dataset holds no photos"))
    return np.concatenate(photos)[:limit], np.concatenate(labels)[:limit]
