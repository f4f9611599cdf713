"""Grad-CAM on a constructed model whose last conv layer sees one corner only."""
import keras
import numpy as np
import pytest

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import default_cam_layer, grad_cam, overlay, plot_grad_cam


@pytest.fixture(scope="module")
def corner_model():
    """A net that crops the photo's top-left quarter, pads it back with zeros, and
    decides from a conv layer over that: only the top-left corner can matter."""
    photo = keras.Input((16, 16, 3), name="photo")
    x = keras.layers.Rescaling(1 / 255, name="rescale")(photo)
    x = keras.layers.Cropping2D(((0, 8), (0, 8)), name="crop")(x)
    x = keras.layers.ZeroPadding2D(((0, 8), (0, 8)), name="pad")(x)
    conv = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_last")
    x = conv(x)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    head = keras.layers.Dense(1, activation="sigmoid", name="prediction")
    model = keras.Model(photo, head(x))
    conv.set_weights([np.full((3, 3, 3, 4), 0.1, "float32"), np.zeros(4, "float32")])
    head.set_weights([np.full((4, 1), 10.0, "float32"), np.zeros(1, "float32")])
    return model


def test_grad_cam_highlights_the_corner_the_model_looks_at(corner_model):
    photo = np.random.default_rng(0).uniform(50, 255, (16, 16, 3)).astype("float32")
    assert default_cam_layer(corner_model) == "conv_last"
    heat = grad_cam(corner_model, photo, class_index=1)
    assert heat.shape == (16, 16) and heat.max() == pytest.approx(1.0)
    corner = heat[:9, :9].sum()  # the quarter plus the one-pixel reach of the 3x3 kernel
    assert corner / heat.sum() > 0.99
    assert heat[:8, :8].mean() > 0.5
    # nothing speaks for cats in this model: an empty map, not noise
    assert grad_cam(corner_model, photo, class_index=0).max() == 0.0


def test_grad_cam_on_a_confident_prediction_is_not_empty(corner_model):
    # P(dog) rounds to 1.0 in float32 here; gradients of the logit still exist
    photo = np.full((16, 16, 3), 255.0, "float32")
    assert float(corner_model(photo[None])[0, 0]) > 0.999
    assert grad_cam(corner_model, photo).max() == pytest.approx(1.0)


def test_overlay_and_bad_input(corner_model):
    photo = np.full((16, 16, 3), 128.0, "float32")
    heat = grad_cam(corner_model, photo)
    picture = overlay(photo, heat[::2, ::2], alpha=0.5)
    assert picture.shape == (16, 16, 3) and 0 <= picture.min() and picture.max() <= 1
    assert plot_grad_cam(picture, title="dog").axes
    with pytest.raises(CatDogKitError, match="class_index"):
        grad_cam(corner_model, photo, class_index=2)
    with pytest.raises(CatDogKitError, match="feature maps"):
        grad_cam(corner_model, photo, layer="features")
    with pytest.raises(CatDogKitError, match="RGB"):
        overlay(photo[..., 0], heat)
