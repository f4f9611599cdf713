"""Dense layers: what Flatten+Dense costs, which units fire for cats or dogs, and a PCA view.

Introduced in lesson 04 (dense layers).
"""
import numpy as np

from catdogkit.data.arrays import labelled_batches
from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _
from catdogkit.viewcache import remember
from catdogkit.visualize.activations import layer_outputs
from catdogkit.visualize.layers import check_layer, layer_table


def head_parameter_cost(model, units=None):
    """Parameters of a Flatten+Dense head versus a global-pooling head on ``model``'s last feature maps.

    Takes the last layer with feature maps ``(h, w, c)`` and the first Dense layer after
    it (or ``units``). Returns a dict: ``feature_shape``, ``units``, ``flatten_dense``
    (``(h*w*c + 1) * units``), ``global_pooling`` (``(c + 1) * units``) and ``ratio``
    (how many times more the Flatten head costs). For the class network at 150x150:
    7x7x128 maps and 512 units give 3,211,776 versus 66,048 parameters.

    Introduced in lesson 04 (dense layers).
    """
    table = layer_table(model)
    spatial = [i for i, (_n, kind, _s) in enumerate(table) if kind in ("conv", "spatial")]
    if not spatial:
        raise CatDogKitError(_("{model} has no layer with feature maps").format(model=model.name))
    last = spatial[-1]
    h, w, c = table[last][2]
    if units is None:
        dense = [shape[0] for _n, kind, shape in table[last + 1:] if kind == "dense"]
        if not dense:
            raise CatDogKitError(_("{model} has no Dense layer after {layer!r}: pass units=").format(
                model=model.name, layer=table[last][0]))
        units = dense[0]
    flatten_dense = (h * w * c + 1) * units
    global_pooling = (c + 1) * units
    return {"feature_shape": (h, w, c), "units": int(units), "flatten_dense": int(flatten_dense),
            "global_pooling": int(global_pooling), "ratio": flatten_dense / global_pooling}


def dense_activations(model, photos, layer="dense", batch_size=64):
    """Outputs of a layer with one value per unit (Dense, Flatten, global pooling) for many photos.

    ``photos`` is a batch ``(N, H, W, 3)`` (0..255) or a ``tf.data.Dataset`` of
    ``(photos, labels)``. Returns float32 ``(N, units)``; for a dataset, returns
    ``(activations, labels)`` with labels int ``(N,)``.

    Introduced in lesson 04 (dense layers).
    """
    check_layer(model, layer, "vector")
    return remember("dense_activations", lambda: _dense_activations(model, photos, layer, batch_size),
                    model, photos, layer)


def _dense_activations(model, photos, layer, batch_size):
    if isinstance(photos, np.ndarray) or isinstance(photos, (list, tuple)):
        batch = np.asarray(photos)
        parts = [layer_outputs(model, batch[i:i + batch_size], [layer])[layer]
                 for i in range(0, len(batch), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
    acts, labels = [], []
    for images, batch_labels in labelled_batches(photos):
        acts.append(layer_outputs(model, images, [layer])[layer])
        labels.append(batch_labels)
    return np.concatenate(acts), np.concatenate(labels)


def class_means(activations, labels, n_classes=2):
    """Mean activation of every unit per class: float32 ``(n_classes, units)``.

    Row 0 is cats, row 1 dogs for the standard layouts; ``means[1] - means[0]`` shows
    which units fire more for dogs (positive) or cats (negative).

    Introduced in lesson 04 (dense layers).
    """
    activations = np.asarray(activations, dtype=np.float32)
    labels = np.asarray(labels).reshape(-1).astype(int)
    if len(activations) != len(labels):
        raise CatDogKitError(_("{activations} activations but {labels} labels").format(
            activations=len(activations), labels=len(labels)))
    means = np.zeros((n_classes, activations.shape[1]), np.float32)
    for c in range(n_classes):
        if np.any(labels == c):
            means[c] = activations[labels == c].mean(axis=0)
    return means


def pca_2d(features):
    """Project ``features`` ``(N, D)`` onto their two main directions (PCA, plain NumPy).

    Returns ``(points, explained)``: float32 ``(N, 2)`` coordinates (centred; each
    axis's sign fixed so that its largest loading is positive, so the picture is the
    same run after run) and float ``(2,)``, the share of variance each axis explains (0..1).

    Introduced in lesson 04 (dense layers).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise CatDogKitError(_("PCA needs a 2-D array of at least 2 rows, got shape {shape}").format(shape=x.shape))
    x = x - x.mean(axis=0)
    # SVD of the centred data gives the principal axes without forming the D x D covariance.
    _u, s, vt = np.linalg.svd(x, full_matrices=False)
    vt = vt[:2]
    signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
    vt = vt * signs[:, None]
    points = x @ vt.T
    if points.shape[1] < 2:  # one feature only: the second axis is empty
        points = np.pad(points, ((0, 0), (0, 2 - points.shape[1])))
    total = float(np.sum(s ** 2)) or 1.0
    explained = np.zeros(2)
    explained[:len(s[:2])] = s[:2] ** 2 / total
    return points.astype(np.float32), explained


def class_separation(points, labels):
    """How well two classes separate in ``points`` ``(N, D)``.

    The distance between the class means over the pooled spread along that direction.

    Returns a float >= 0 (about 0: mixed; above 2: clearly apart), Fisher's criterion
    along the line joining the two class means.

    Introduced in lesson 04 (dense layers).
    """
    points = np.asarray(points, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1).astype(int)
    a, b = points[labels == 0], points[labels == 1]
    if len(a) < 2 or len(b) < 2:
        raise CatDogKitError(_("class_separation needs at least 2 points of each class"))
    direction = b.mean(axis=0) - a.mean(axis=0)
    norm = np.linalg.norm(direction)
    if norm == 0:
        return 0.0
    pa, pb = a @ direction / norm, b @ direction / norm
    return float(abs(pb.mean() - pa.mean()) / np.sqrt((pa.var() + pb.var()) / 2 + 1e-12))
