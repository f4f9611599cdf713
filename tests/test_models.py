"""The networks: the class-manual architecture exactly, layer names, .keras round trips, errors."""
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from catdogkit import models  # noqa: E402
from catdogkit.errors import CatDogKitError  # noqa: E402


def test_original_cnn_is_the_class_manual_network():
    model = models.original_cnn()
    assert model.name == "original_cnn"
    assert model.count_params() == models.ORIGINAL_PARAMS == 3_453_121
    assert [layer.name for layer in model.layers] == [
        "photo", "rescale", "conv1", "pool1", "conv2", "pool2", "conv3", "pool3",
        "conv4", "pool4", "flatten", "dense", "prediction"]
    assert [model.get_layer(f"conv{i}").filters for i in range(1, 5)] == [32, 64, 128, 128]
    assert isinstance(model.optimizer, keras.optimizers.RMSprop)
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-4)
    assert model.output_shape == (None, 1)


def test_improved_cnn_takes_raw_photos_and_names_its_layers():
    model = models.improved_cnn((64, 64, 3))
    names = [layer.name for layer in model.layers]
    assert model.name == "improved_cnn"
    assert names[:3] == ["photo", "augmentation", "rescale"]
    assert names[-1] == "prediction" and "features" in names
    assert sum("conv" in name for name in names) >= 8
    assert model.count_params() < models.ORIGINAL_PARAMS
    photos = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    # Augmentation is off outside training: the same photo always gets the same answer.
    np.testing.assert_allclose(model.predict(photos, verbose=0), model.predict(photos, verbose=0))


@pytest.mark.parametrize("build", [models.original_cnn, models.improved_cnn])
def test_keras_file_round_trip_gives_identical_predictions(build, tmp_path):
    model = build((64, 64, 3))
    photos = np.random.default_rng(1).uniform(0, 255, (4, 64, 64, 3)).astype("float32")
    model.fit(photos, np.array([0, 1, 0, 1], "float32"), epochs=1, verbose=0)  # optimizer state too
    path = tmp_path / "model.keras"
    model.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # e.g. "Skipping variable loading for optimizer"
        loaded = models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(photos, verbose=0), model.predict(photos, verbose=0))
    assert int(loaded.optimizer.iterations) == int(model.optimizer.iterations) == 1
    for saved, restored in zip(model.optimizer.variables, loaded.optimizer.variables):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())


def test_predict_with_flip_averages_the_mirror_image():
    model = models.original_cnn((48, 48, 3))
    photos = np.random.default_rng(2).uniform(0, 255, (3, 48, 48, 3)).astype("float32")
    plain, mirrored = models.predict(model, photos), models.predict(model, photos[:, :, ::-1])
    np.testing.assert_allclose(models.predict(model, photos, flip=True), (plain + mirrored) / 2,
                               rtol=1e-5)


def test_transfer_cnn_untrained_and_fine_tune():
    model = models.transfer_cnn(weights=None, input_shape=(96, 96, 3))
    base = model.get_layer("base")
    assert not base.trainable and model.output_shape == (None, 1)
    assert [layer.name for layer in model.layers][-3:] == ["features", "dropout", "prediction"]
    models.fine_tune(model, n_layers=10)
    trainable = [layer for layer in base.layers if layer.trainable]
    assert 0 < len(trainable) <= 10
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in trainable)


def test_transfer_cnn_says_clearly_when_weights_cannot_be_fetched(monkeypatch, tmp_path):
    # A proxy that refuses every connection: the real download code fails at once.
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(CatDogKitError, match="weights=None"):
        models.transfer_cnn(weights="imagenet", input_shape=(96, 96, 3))


def test_fine_tune_needs_a_transfer_model():
    with pytest.raises(CatDogKitError, match="transfer_cnn"):
        models.fine_tune(models.original_cnn((48, 48, 3)))


def test_original_cnn_refuses_photos_too_small_for_it():
    with pytest.raises(CatDogKitError, match="at least 46x46"):
        models.original_cnn((45, 45, 3))
    assert models.original_cnn((46, 46, 3)).output_shape == (None, 1)


def test_load_model_explains_what_is_wrong(tmp_path):
    with pytest.raises(CatDogKitError, match="no model at"):
        models.load_model(tmp_path / "missing.keras")
    (tmp_path / "notes.keras").write_text("not a model")
    with pytest.raises(CatDogKitError, match="not a Keras model"):
        models.load_model(tmp_path / "notes.keras")
    (tmp_path / "old.h5").write_bytes(b"\x89HDF\r\n\x1a\n")
    with pytest.raises(CatDogKitError, match="HDF5"):
        models.load_model(tmp_path / "old.h5")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatDogKitError, match="no trained model"):
        models.load_model(tmp_path / "empty")
