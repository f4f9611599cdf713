"""Batch-normalization statistics measured again once training is over ("precise BN").

While it trains, each ``BatchNormalization`` layer of the improved network keeps a running
mean and variance of what it sees, with momentum 0.9: an average over roughly the last
ten batches, of photos the augmentation layers have just flipped, turned, shifted and
zoomed. The photos the network is then judged on are not augmented. Measuring the
statistics again over many batches of training photos as they are, with every weight
left as it is, gives the layers the statistics of the photos they will meet.
"""
import keras

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _

#: The name of the augmentation block inside the networks (``catdogkit.data.augmentation``).
AUGMENTATION = "augmentation"


def recalibrate_batch_norm(model, train_ds, *, batches=32):
    """Set every batch-normalization layer's moving mean and variance of ``model`` to the
    average of its batch statistics over the first ``batches`` batches of ``train_ds``
    (``(photos, labels)`` batches), passed through the network without its augmentation
    layers. Weights are unchanged. Returns the number of photos used (0: ``model`` has no
    batch normalization, and nothing changed)."""
    layers = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
              and layer.trainable]
    if not layers:
        return 0
    if batches < 1:
        raise CatDogKitError(_("batches={batches}: give 1 or more batches of photos").format(batches=batches))
    names = {layer.name for layer in model.layers}
    network = (keras.Model(model.get_layer(AUGMENTATION).output, model.output) if AUGMENTATION in names
               else model)
    momenta = [layer.momentum for layer in layers]
    photos = 0
    try:
        for count, (images, _labels) in enumerate(train_ds.take(batches), start=1):
            for layer in layers:  # moving = moving x (n-1)/n + this batch / n: the mean so far
                layer.momentum = (count - 1) / count
            network(images, training=True)
            photos += int(images.shape[0])
    finally:
        for layer, momentum in zip(layers, momenta):
            layer.momentum = momentum
    return photos
