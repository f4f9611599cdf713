"""Visualization speed: batched filter patterns versus the class code's loop, and how fast
the feature-map explorer answers a control.

    nice -n 10 .venv/bin/python benchmarks/visualize.py [--steps 20] [--canvas 64] [--changes 50]

(a) Patterns of all 128 filters of the class network's conv3, by gradient ascent with
    the same steps, start images and step size: one batched computation
    (``catdogkit.visualize.filter_patterns``) versus the class code's loop, which built
    a new compiled function per filter (``K.function``, here ``tf.function``) and ran it
    on one image at a time. Targets: >= 20x faster, mean activation within 10 %.
(b) The feature-map explorer on the improved network (150x150): time from a control's
    value change (channel range or layer) to the new PNG in the Image widget, over
    ``--changes`` changes. Targets: median <= 100 ms, p95 <= 250 ms. A change of photo
    (one forward pass) is timed separately.

The last line printed is one JSON object with every figure.
"""
import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))

import catdogkit  # noqa: E402,F401  (sets TensorFlow's log switches first)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from catdogkit.models import improved_cnn, original_cnn  # noqa: E402
from catdogkit.visualize import activation_model, filter_patterns  # noqa: E402
from catdogkit.widgets import FeatureMapExplorer, PhotoPicker  # noqa: E402


def class_code_loop(model, layer, filters, steps, step_size, seed):
    """The class code's generate_pattern, one filter after the other, in Keras 3 terms."""
    sub = activation_model(model, [layer])
    height, width = model.inputs[0].shape[1:3]
    scores = []
    for f in filters:
        # A new compiled function per filter, as K.function built one (no Python control
        # flow inside, so AutoGraph has nothing to convert).
        @tf.function(autograph=False)
        def iterate(x, f=f):
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = tf.reduce_mean(sub(x, training=False)[..., f])
            grads = tape.gradient(loss, x)
            return loss, grads / (tf.sqrt(tf.reduce_mean(tf.square(grads))) + 1e-5)
        # the same start image as filter_patterns gives this filter
        x = tf.constant((128.0 + 20.0 * np.random.default_rng([seed, f]).random(
            (1, height, width, 3))).astype(np.float32))
        for _ in range(steps):
            _loss, grads = iterate(x)
            x = x + step_size * grads
        scores.append(float(iterate(x)[0]))
    return np.array(scores)


def bench_patterns(steps, canvas, step_size=10.0, seed=0):
    keras.utils.set_random_seed(seed)
    # The conv weights do not depend on the input size: the class network built for the
    # canvas is the class code's fully convolutional generate_pattern(size=canvas).
    model = original_cnn(input_shape=(canvas, canvas, 3))
    filters = list(range(128))
    # CPU seconds beside wall seconds: other jobs on a shared machine stretch wall time.
    started, cpu = time.perf_counter(), time.process_time()
    _patterns, batched = filter_patterns(model, "conv3", filters, steps=steps,
                                         step_size=step_size, seed=seed)
    batched_s, batched_cpu = time.perf_counter() - started, time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    looped = class_code_loop(model, "conv3", filters, steps, step_size, seed)
    loop_s, loop_cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "layer": "original_cnn conv3 (128 filters, untrained)", "canvas": canvas, "steps": steps,
        "batched_s": round(batched_s, 2), "loop_s": round(loop_s, 2),
        "speedup": round(loop_s / batched_s, 2),
        "batched_cpu_s": round(batched_cpu, 2), "loop_cpu_s": round(loop_cpu, 2),
        "speedup_cpu_time": round(loop_cpu / batched_cpu, 2),
        "mean_activation_batched": float(batched.mean()), "mean_activation_loop": float(looped.mean()),
        "activation_difference": float(abs(batched.mean() - looped.mean()) / abs(looped.mean())),
    }


def bench_explorer(changes, seed=0):
    keras.utils.set_random_seed(seed)
    model = improved_cnn()
    rng = np.random.default_rng(seed)
    photos = {f"photo {i}": rng.uniform(0, 255, (150, 150, 3)).astype(np.float32) for i in range(6)}
    explorer = FeatureMapExplorer(model, PhotoPicker(photos))
    layers = [n for n in explorer.layer.options if "conv" in n or "pool" in n or "add" in n]
    times = []
    for i in range(changes):
        before = explorer.image.value
        started = time.perf_counter()
        if i % 5 == 4:  # every fifth change picks another layer, the rest move the channel range
            explorer.layer.value = layers[(i // 5 + 1) % len(layers)]  # [0] is the start
        else:
            low = 1 + (i * 3) % 12  # never (0, 15), the range a new layer starts with
            explorer.channels.value = (low, low + 15)
        times.append(time.perf_counter() - started)
        assert explorer.image.value != before and not explorer.message.value, explorer.message.value
    photo_times = []
    for label in list(photos)[1:]:
        started = time.perf_counter()
        explorer.picker.choice.value = label
        photo_times.append(time.perf_counter() - started)
    times_ms = np.array(times) * 1000
    return {
        "network": "improved_cnn 150x150 (untrained)", "changes": changes,
        "median_ms": round(float(np.median(times_ms)), 1),
        "p95_ms": round(float(np.percentile(times_ms, 95)), 1),
        "max_ms": round(float(times_ms.max()), 1),
        "photo_change_median_ms": round(float(np.median(photo_times) * 1000), 1),
        "forward_passes": explorer.cache.misses,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--canvas", type=int, default=64)
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    explorer = bench_explorer(args.changes)
    print(f"(b) feature-map explorer: median {explorer['median_ms']} ms, p95 {explorer['p95_ms']} ms "
          f"over {explorer['changes']} changes; a new photo {explorer['photo_change_median_ms']} ms",
          flush=True)
    patterns = bench_patterns(args.steps, args.canvas)
    print(f"(a) 128 filter patterns, {args.steps} steps, {args.canvas}px: batched "
          f"{patterns['batched_s']} s, class-code loop {patterns['loop_s']} s "
          f"({patterns['speedup']}x; {patterns['speedup_cpu_time']}x in CPU time); mean activation {patterns['mean_activation_batched']:.4g} vs "
          f"{patterns['mean_activation_loop']:.4g}", flush=True)
    result = {
        "benchmark": "visualize", "patterns": patterns, "feature_map_explorer": explorer,
        "targets_met": {
            "patterns_speedup_20x": patterns["speedup"] >= 20,
            "patterns_activation_within_10pct": patterns["activation_difference"] <= 0.10,
            "explorer_median_100ms": explorer["median_ms"] <= 100,
            "explorer_p95_250ms": explorer["p95_ms"] <= 250,
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}",
        "load_average_1min": round(os.getloadavg()[0], 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
