"""Grad-CAM on a constructed model whose last conv layer sees one corner only."""
import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

from catdogkit.errors import CatDogKitError
from catdogkit.visualize import default_cam_layer, grad_cam, overlay, plot_grad_cam
from catdogkit.visualize.heatmaps import activated_layer
from catdogkit_dev.tiny_models import conv_stack, corner_cnn


@pytest.fixture(scope="module")
def corner_model():
    """Only the photo's top-left quarter can matter to this network."""
    return corner_cnn(size=16)


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
    (drawn,) = plot_grad_cam(picture, title="dog").axes
    assert drawn.get_title() == "dog"
    np.testing.assert_allclose(drawn.images[0].get_array(), picture)
    with pytest.raises(CatDogKitError, match="class_index"):
        grad_cam(corner_model, photo, class_index=2)
    with pytest.raises(CatDogKitError, match="feature maps"):
        grad_cam(corner_model, photo, layer="features")
    with pytest.raises(CatDogKitError, match="RGB"):
        overlay(photo[..., 0], heat)


def _residual_like_cnn(size=16):
    """A 3x3 conv with its own batch norm and ReLU, then a 1x1 strided shortcut, as in
    the improved network's last stage."""
    photo = keras.Input((size, size, 3), name="photo")
    x = layers.Conv2D(4, 3, padding="same", use_bias=False, name="conv_full")(photo)
    x = layers.BatchNormalization(name="conv_full_bn")(x)
    maps = layers.Activation("relu", name="conv_full_relu")(x)
    shortcut = layers.Conv2D(4, 1, strides=2, name="shortcut_conv")(photo)
    x = layers.Add(name="add")([layers.MaxPooling2D(2, name="pool")(maps), shortcut])
    x = layers.GlobalAveragePooling2D(name="features")(x)
    return keras.Model(photo, layers.Dense(1, activation="sigmoid", name="prediction")(x))


def test_the_default_layer_is_the_last_full_convolution_read_once_activated():
    model = _residual_like_cnn()
    assert default_cam_layer(model) == "conv_full"  # not the 1x1 shortcut that comes later
    assert activated_layer(model, "conv_full") == "conv_full_relu"
    assert activated_layer(model, "pool") == "pool"
    photo = np.random.default_rng(1).uniform(0, 255, (16, 16, 3)).astype("float32")
    for class_index in (0, 1):
        np.testing.assert_allclose(grad_cam(model, photo, class_index=class_index),
                                   grad_cam(model, photo, "conv_full_relu", class_index=class_index))


def test_the_shifted_map_is_the_mean_of_plain_maps_of_the_photo_moved_a_quarter_cell():
    model = conv_stack(48, filters=(4, 8, 8), pool_last=False)  # conv3: 8x8 cells of 6 px
    photo = np.random.default_rng(2).uniform(0, 255, (48, 48, 3)).astype("float32")
    class_index = next(c for c in (1, 0) if grad_cam(model, photo, class_index=c, shifted=False).max() > 0)
    plain = grad_cam(model, photo, class_index=class_index, shifted=False)
    heat = grad_cam(model, photo, class_index=class_index)
    assert plain.shape == (8, 8) and heat.shape == (48, 48) and heat.max() == pytest.approx(1.0)
    maps = []
    for dy in (-2, 2):  # a quarter of 6 px, rounded
        for dx in (-2, 2):
            moved = np.pad(photo, ((2, 2), (2, 2), (0, 0)), mode="edge")[2 - dy:50 - dy, 2 - dx:50 - dx]
            cam = grad_cam(model, moved, class_index=class_index, shifted=False)
            big = tf.image.resize(cam[..., None], (48, 48)).numpy()[..., 0]
            maps.append(np.pad(big, 2, mode="edge")[2 + dy:50 + dy, 2 + dx:50 + dx])
    mean = np.mean(maps, axis=0)
    np.testing.assert_allclose(heat, mean / mean.max(), atol=1e-5)
