"""Training: learning on the sample, checkpoints, resume after a kill, history, strategies, cache."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from catdogkit import models, training  # noqa: E402
from catdogkit.errors import CatDogKitError  # noqa: E402

# The training subprocesses build their own small random data set: the test is about
# checkpoints and replicas, not accuracy, and TensorFlow must start afresh in them.
SCRIPT = textwrap.dedent("""
    import json, sys, time
    import catdogkit
    import tensorflow as tf
    if sys.argv[4] == "2cpu":
        # Logical devices exist only if configured before TensorFlow initialises.
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
    import keras
    import numpy as np
    from catdogkit import models, training
    out, epochs, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])

    rng = np.random.default_rng(0)
    photos = rng.uniform(0, 255, (64, 48, 48, 3)).astype("float32")
    labels = (rng.uniform(size=64) > 0.5).astype("float32")
    data = (tf.data.Dataset.from_tensor_slices((photos, labels)).batch(8),
            tf.data.Dataset.from_tensor_slices((photos[:16], labels[:16])).batch(8))
    keras.utils.set_random_seed(0)
    model = models.original_cnn((48, 48, 3))

    class Slow(keras.callbacks.Callback):
        # Long enough epochs that the test can kill the process in the middle of one.
        def on_train_batch_end(self, batch, logs=None):
            time.sleep(pause)

    strategy = None
    if sys.argv[4] == "2cpu":
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    history = training.train(model, data, epochs=epochs, out=out, progress="lines",
                             strategy=strategy, callbacks=[Slow()])
    print(json.dumps({"epochs": history["epoch"], "loss": history["loss"],
                      "replicas": (strategy or tf.distribute.get_strategy()).num_replicas_in_sync,
                      "iterations": int(model.optimizer.iterations)}))
""")


def random_data():
    """The same photos as the subprocess script makes."""
    import tensorflow as tf
    rng = np.random.default_rng(0)
    photos = rng.uniform(0, 255, (64, 48, 48, 3)).astype("float32")
    labels = (rng.uniform(size=64) > 0.5).astype("float32")
    return (tf.data.Dataset.from_tensor_slices((photos, labels)).batch(8),
            tf.data.Dataset.from_tensor_slices((photos[:16], labels[:16])).batch(8))


def start(tmp_path, out, epochs, pause, devices="1cpu"):
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), str(out), str(epochs), str(pause), devices],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def learnable_sample():
    """Enough sample photos for a network to beat chance within a few epochs (64x64)."""
    from catdogkit.data import load_datasets
    from catdogkit.sample import make_sample
    root = make_sample(n_per_class={"train": 150, "validation": 100, "test": 0}, image_size=64, seed=0)
    return load_datasets(root, image_size=64, batch_size=16, seed=0, announce=lambda _: None)


@pytest.mark.slow
@pytest.mark.parametrize("name,epochs", [("original", 12), ("improved", 8)])
def test_both_networks_learn_to_beat_chance(name, epochs, learnable_sample, tmp_path):
    keras.utils.set_random_seed(0)
    data = learnable_sample
    if name == "original":
        model = models.original_cnn((64, 64, 3))
    else:
        steps = epochs * int(data.train.cardinality())
        model = models.improved_cnn((64, 64, 3), total_steps=steps, seed=0)
    history = training.train(model, data, epochs=epochs, out=tmp_path, progress=None)
    assert history["epoch"] == list(range(1, epochs + 1))
    result = training.evaluate(model, data.validation, data.class_names)
    assert result["n"] == 200
    assert sum(c["n"] for c in result["per_class"].values()) == 200
    # 200 validation photos: chance reaches 58 % with probability below 1.5 %.
    assert result["accuracy"] >= 0.58, result


@pytest.mark.slow
def test_resume_after_a_kill_continues_from_the_last_completed_epoch(tmp_path):
    out = tmp_path / "run"
    process = start(tmp_path, out, epochs=4, pause=0.4)
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        if (out / training.HISTORY).exists() and training.load_history(out)["epoch"]:
            break
        time.sleep(0.1)
    time.sleep(1.0)  # well inside the next epoch (8 steps of at least 0.4 s)
    assert process.poll() is None, process.stdout.read()
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    before = training.load_history(out)
    done = len(before["epoch"])
    assert 1 <= done < 4

    model = models.original_cnn((48, 48, 3))
    history = training.train(model, random_data(), epochs=4, out=out, progress=None)
    assert history["epoch"] == [1, 2, 3, 4]  # no gap, no repeat
    assert history["loss"][:done] == before["loss"]
    assert training.load_history(out) == history
    # Optimizer state came back: exactly 4 epochs x 8 steps, the killed partial epoch not counted.
    assert int(model.optimizer.iterations) == 32
    assert list(out.glob("checkpoint-*.keras")) == [out / "checkpoint-0004.keras"]
    reloaded = models.load_model(out)
    photos = np.random.default_rng(3).uniform(0, 255, (2, 48, 48, 3)).astype("float32")
    np.testing.assert_array_equal(reloaded.predict(photos, verbose=0), model.predict(photos, verbose=0))


def test_more_epochs_continue_and_fewer_just_load(tmp_path, capsys):
    model = models.original_cnn((48, 48, 3))
    training.train(model, random_data(), epochs=1, out=tmp_path, progress="lines")
    assert "epoch 1/1" in capsys.readouterr().out
    again = models.original_cnn((48, 48, 3))
    history = training.train(again, random_data(), epochs=2, out=tmp_path, progress="lines")
    printed = capsys.readouterr().out
    assert "resuming from epoch 1" in printed and "epoch 2/2" in printed and "epoch 1/2" not in printed
    assert history["epoch"] == [1, 2] and set(history) >= {"loss", "accuracy", "val_loss", "seconds"}
    third = models.original_cnn((48, 48, 3))
    assert training.train(third, random_data(), epochs=2, out=tmp_path, progress=None) == history
    np.testing.assert_array_equal(third.get_weights()[0], again.get_weights()[0])


def test_a_folder_of_another_model_is_refused(tmp_path):
    training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=1, out=tmp_path,
                   progress=None)
    with pytest.raises(CatDogKitError, match="another --out"):
        training.train(models.improved_cnn((48, 48, 3)), random_data(), epochs=2, out=tmp_path,
                       progress=None)


@pytest.mark.slow
def test_two_replica_mirrored_strategy_on_two_logical_cpus(tmp_path):
    process = start(tmp_path, tmp_path / "run", epochs=2, pause=0, devices="2cpu")
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    result = json.loads(output.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["epochs"] == [1, 2] and all(np.isfinite(result["loss"]))
    assert (tmp_path / "run" / training.MODEL).exists()


def test_photos_of_another_size_are_a_clear_error(tmp_path):
    with pytest.raises(CatDogKitError, match="image_size=64"):
        training.train(models.original_cnn((64, 64, 3)), random_data(), epochs=1, out=tmp_path,
                       progress=None)
    with pytest.raises(CatDogKitError, match="takes 64x64"):
        training.evaluate(models.original_cnn((64, 64, 3)), random_data()[1])


def test_choose_strategy_is_the_default_on_one_cpu():
    import tensorflow as tf
    assert training.choose_strategy() is tf.distribute.get_strategy()


def test_evaluate_counts_per_class():
    model = models.original_cnn((48, 48, 3))
    result = training.evaluate(model, random_data()[0], ["cats", "dogs"])
    assert result["n"] == 64 and 0 <= result["accuracy"] <= 1 and result["loss"] > 0
    assert sum(c["correct"] for c in result["per_class"].values()) == round(result["accuracy"] * 64)


def test_unwritable_out_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    with pytest.raises(CatDogKitError, match="cannot write"):
        training.train(models.original_cnn((48, 48, 3)), random_data(), epochs=1,
                       out=tmp_path / "file" / "run", progress=None)


def test_lesson_model_trains_once_then_comes_from_the_cache(tiny_sample, tmp_path, monkeypatch):
    monkeypatch.setenv("CATDOGKIT_CACHE", str(tmp_path))
    first = training.lesson_model("original", tiny_sample, epochs=1, image_size=64, progress=None)
    folders = list((tmp_path / "models").iterdir())
    assert len(folders) == 1 and folders[0].name.startswith("original-")
    # A second call must load the cached model, never train again.
    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("lesson_model trained twice"))
    second = training.lesson_model("original", tiny_sample, epochs=1, image_size=64, progress=None)
    np.testing.assert_array_equal(first.get_weights()[-1], second.get_weights()[-1])
    with pytest.raises(CatDogKitError, match="unknown lesson model"):
        training.lesson_model("vgg", tiny_sample)


def test_progress_choices():
    from catdogkit.widgets import TrainingMonitor
    assert isinstance(training._progress_callbacks("widget", 2)[0], TrainingMonitor)
    assert training._progress_callbacks(None, 2) == []
    # pytest is no notebook kernel: "auto" means one line per epoch.
    assert type(training._progress_callbacks("auto", 2)[0]).__name__ == "_EpochLine"
    with pytest.raises(CatDogKitError, match="progress"):
        training._progress_callbacks("bars", 2)
