"""Where a trained network is right and wrong: confusion matrix and misclassified photos.

Introduced in lesson 07 (the improved model).
"""
import numpy as np

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _


def _labels_and_predictions(labels, scores, threshold):
    labels = np.asarray(labels).reshape(-1).astype(int)
    scores = np.asarray(scores, dtype=np.float32).reshape(len(labels), -1)
    predicted = (scores[:, 0] >= threshold).astype(int) if scores.shape[1] == 1 else scores.argmax(1)
    return labels, scores, predicted


def confusion_matrix(labels, scores, threshold=0.5, n_classes=2):
    """Counts ``(n_classes, n_classes)`` int: row = true class, column = predicted class.

    ``scores`` are the model's outputs: ``(N,)`` or ``(N, 1)`` P(class 1), thresholded at
    ``threshold``, or ``(N, classes)`` probabilities (argmax).

    Introduced in lesson 07 (the improved model).
    """
    labels, _scores, predicted = _labels_and_predictions(labels, scores, threshold)
    if labels.min(initial=0) < 0 or max(labels.max(initial=0), predicted.max(initial=0)) >= n_classes:
        raise CatDogKitError(_("labels and predictions must lie in 0..{last}").format(last=n_classes - 1))
    matrix = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(matrix, (labels, predicted), 1)
    return matrix


def misclassified(labels, scores, threshold=0.5):
    """Indices of the wrongly classified photos, the most confidently wrong first: int ``(M,)``.

    Introduced in lesson 07 (the improved model).
    """
    labels, scores, predicted = _labels_and_predictions(labels, scores, threshold)
    wrong = np.flatnonzero(predicted != labels)
    if scores.shape[1] == 1:
        confidence = np.abs(scores[wrong, 0] - threshold)
    else:
        confidence = scores[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")]
