"""The networks: the class-manual architecture exactly, layer names, build by name, files, errors."""
import json
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from catdogkit import measured, models, recipes  # noqa: E402
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


@pytest.mark.parametrize("make", [
    lambda: models.transfer_cnn(weights="imagenet", input_shape=(96, 96, 3)),
    lambda: models.build("transfer", (96, 96, 3))])
def test_transfer_cnn_says_clearly_when_weights_cannot_be_fetched(make, monkeypatch, tmp_path):
    # A proxy that refuses every connection: the real download code fails at once.
    import urllib.request
    for name in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    try:
        with pytest.raises(CatDogKitError, match="weights=None"):
            make()
    finally:
        # urllib keeps the opener (and its proxy) it built: later downloads must not inherit it.
        urllib.request.install_opener(None)


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
    with pytest.raises(CatDogKitError, match="could not be loaded as an HDF5"):
        models.load_model(tmp_path / "old.h5")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatDogKitError, match="no trained model"):
        models.load_model(tmp_path / "empty")


def test_build_makes_every_network_by_name_with_its_recipe():
    assert [layer.name for layer in models.build("original").layers][:2] == ["photo", "rescale"]
    assert models.build("original").input_shape == (None, 150, 150, 3)
    assert models.build("improved").input_shape[1] == recipes.RECIPES["improved"]["image_size"] == 128
    with pytest.raises(CatDogKitError, match="unknown network"):
        models.build("vgg")


def test_build_sizes_the_improved_schedule_from_epochs_and_steps():
    model = models.build("improved", (64, 64, 3), epochs=10, steps_per_epoch=20)
    schedule = model.optimizer.learning_rate_schedule if hasattr(
        model.optimizer, "learning_rate_schedule") else model.optimizer._learning_rate
    assert schedule.decay_steps + schedule.warmup_steps == pytest.approx(200, abs=1)


def test_the_improved_network_without_each_choice_drops_just_that_choice():
    def names(*leave_out):
        return {layer.name for layer in models.improved_cnn((64, 64, 3), total_steps=100,
                                                              leave_out=leave_out).layers}
    full = names()
    assert "augmentation" in full and "augmentation" not in names("augmentation layers")
    assert not any("_bn" in name for name in names("batch normalization"))
    assert not any("shortcut" in name or "_add" in name for name in names("residual stages"))
    assert "flatten" in names("global average pooling") and "flatten" not in full
    assert "dropout" not in names("dropout, weight decay, label smoothing")
    plain = models.improved_cnn((64, 64, 3), total_steps=100, leave_out=(
        "dropout, weight decay, label smoothing", "cosine learning-rate schedule"))
    assert type(plain.optimizer) is keras.optimizers.Adam
    assert float(plain.optimizer.learning_rate) == pytest.approx(1e-3)
    assert plain.loss.get_config()["label_smoothing"] == 0
    assert set(models.ABLATIONS) <= set(measured.IMPROVEMENTS)
    with pytest.raises(CatDogKitError, match="cannot leave out 'dropout'"):
        models.improved_cnn((64, 64, 3), leave_out=("dropout",))
    with pytest.raises(CatDogKitError, match="only the improved network"):
        models.build("original", leave_out=("residual stages",))


def test_build_with_a_seed_builds_the_same_weights():
    first, second = (models.build("original", (48, 48, 3), seed=3) for _ in range(2))
    np.testing.assert_array_equal(first.get_weights()[0], second.get_weights()[0])


def test_class_augmented_is_the_books_second_model():
    model = models.build("class-augmented")
    names = [layer.name for layer in model.layers]
    assert model.name == "class_augmented_cnn" and model.count_params() == models.ORIGINAL_PARAMS
    assert names[:3] == ["photo", "augmentation", "rescale"]
    assert names.index("flatten") < names.index("dropout") < names.index("dense")
    assert model.get_layer("dropout").rate == 0.5
    photos = np.random.default_rng(0).uniform(0, 255, (2, 150, 150, 3)).astype("float32")
    np.testing.assert_allclose(model.predict(photos, verbose=0), model.predict(photos, verbose=0))


def small_h5(path):
    model = models.original_cnn((48, 48, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "HDF5 ... is considered legacy"
        model.save(path)
    return model


def test_an_h5_model_keras_can_read_loads(tmp_path):
    model = small_h5(tmp_path / "class.h5")
    loaded = models.load_model(tmp_path / "class.h5", announce=pytest.fail)
    photos = np.random.default_rng(4).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(photos, verbose=0), model.predict(photos, verbose=0))


def test_a_keras2_h5_with_lr_loads_without_its_optimizer_and_says_so(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = small_h5(tmp_path / "keras2.h5")
    with h5py.File(tmp_path / "keras2.h5", "r+") as file:  # what Keras 2 wrote: "lr"
        config = json.loads(file.attrs["training_config"])
        optimizer = config["optimizer_config"]["config"]
        optimizer["lr"] = optimizer.pop("learning_rate")
        file.attrs["training_config"] = json.dumps(config)
    said = []
    loaded = models.load_model(tmp_path / "keras2.h5", announce=said.append)
    assert len(said) == 1 and "without its optimizer" in said[0] and "'lr'" in said[0]
    photos = np.random.default_rng(5).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    np.testing.assert_allclose(loaded.predict(photos, verbose=0), model.predict(photos, verbose=0))

