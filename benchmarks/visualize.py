"""Visualization speed: filter patterns of the kit versus the class code's loop at equal
quality, and how fast the feature-map explorer answers a control.

    .venv/bin/python benchmarks/visualize.py [--networks untrained,trained] [--changes 50]

(a) Patterns of all 128 filters of the class network's conv3 on a 150x150 canvas. The
    class code's loop (Keras book 5.4: one filter after the other, a new compiled function
    per filter, grey noise 128 + 20 * uniform, loss = the filter's mean activation, the
    gradient divided by its RMS + 1e-5, 40 steps of 1) sets the quality bar: the mean
    activation it reaches for each filter. The kit's ``filter_patterns`` with its defaults
    (coarse-to-fine octaves, larger normalised steps, jitter, blur, all filters batched)
    must reach at least that activation for EVERY filter; the figure is
    ``patterns_time_to_quality_speedup`` = loop seconds / kit seconds (None when some
    filter falls short). Networks: ``untrained`` (``original_cnn`` with seed 0, what this
    benchmark always used) and ``trained`` (``catdogkit.training.lesson_model("original")``,
    the lesson's class network, trained once on the embedded sample and cached). The view
    cache is off, so the kit computes every pattern. Targets: >= 10x (beyond: 20x).
(b) The feature-map explorer on the improved network (150x150): time from a control's
    value change (channel range or layer) to the new PNG in the Image widget, over
    ``--changes`` changes. Targets: median <= 100 ms, p95 <= 250 ms. A change of photo
    (one forward pass) is timed separately.

The last line printed is one JSON object with every figure, the 1-minute load average
before and after (the machine is shared) included.
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
os.environ["CATDOGKIT_VIEW_CACHE"] = "0"  # measure the computation, not the cache

import catdogkit  # noqa: E402,F401  (sets TensorFlow's log switches first)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from catdogkit.models import improved_cnn, original_cnn  # noqa: E402
from catdogkit.visualize import activation_model, filter_patterns  # noqa: E402
from catdogkit.widgets import FeatureMapExplorer, PhotoPicker  # noqa: E402

CLASS_STEPS, CLASS_STEP_SIZE, CANVAS, LAYER = 40, 1.0, 150, "conv3"


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
        # the class code's start: grey noise, here seeded per filter
        x = tf.constant((128.0 + 20.0 * np.random.default_rng([seed, f]).random(
            (1, height, width, 3))).astype(np.float32))
        for _ in range(steps):
            _loss, grads = iterate(x)
            x = x + step_size * grads
        scores.append(float(iterate(x)[0]))
    return np.array(scores)


def _timed(function):
    # CPU seconds beside wall seconds: other jobs on a shared machine stretch wall time.
    started, cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, round(time.perf_counter() - started, 2), round(time.process_time() - cpu, 2)


def class_network(kind, seed=0):
    if kind == "untrained":
        keras.utils.set_random_seed(seed)
        return original_cnn(input_shape=(CANVAS, CANVAS, 3))
    from catdogkit.training import lesson_model
    return lesson_model("original")


def bench_patterns(kind, seed=0):
    model = class_network(kind, seed)
    filters = list(range(128))
    looped, loop_s, loop_cpu = _timed(lambda: class_code_loop(
        model, LAYER, filters, CLASS_STEPS, CLASS_STEP_SIZE, seed))
    (_patterns, kit), kit_s, kit_cpu = _timed(lambda: filter_patterns(model, LAYER, filters, seed=seed))
    reached = kit >= looped
    return {
        "network": f"original_cnn {LAYER} (128 filters, {kind})", "canvas": CANVAS,
        "loop": f"{CLASS_STEPS} steps of {CLASS_STEP_SIZE:g}, one filter at a time",
        "loop_s": loop_s, "loop_cpu_s": loop_cpu, "kit_s": kit_s, "kit_cpu_s": kit_cpu,
        "loop_mean_activation": float(looped.mean()), "kit_mean_activation": float(kit.mean()),
        "filters_reached": int(reached.sum()), "filters": len(filters),
        "silent_filters_loop": int((looped <= 0).sum()), "silent_filters_kit": int((kit <= 0).sum()),
        "worst_ratio_live": float(np.min(kit[looped > 0] / looped[looped > 0])),
        "time_to_quality_speedup": round(loop_s / kit_s, 2) if reached.all() else None,
        "cpu_time_speedup": round(loop_cpu / kit_cpu, 2) if reached.all() else None,
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
    parser.add_argument("--networks", default="untrained,trained",
                        help="class networks for (a), comma-separated: untrained, trained")
    parser.add_argument("--changes", type=int, default=50)
    args = parser.parse_args()
    load_before = round(os.getloadavg()[0], 1)
    explorer = bench_explorer(args.changes)
    print(f"(b) feature-map explorer: median {explorer['median_ms']} ms, p95 {explorer['p95_ms']} ms "
          f"over {explorer['changes']} changes; a new photo {explorer['photo_change_median_ms']} ms",
          flush=True)
    patterns = {}
    for kind in args.networks.split(","):
        patterns[kind] = p = bench_patterns(kind)
        print(f"(a) {p['network']}: class loop {p['loop_s']} s (mean activation "
              f"{p['loop_mean_activation']:.4g}), kit {p['kit_s']} s ({p['kit_mean_activation']:.4g}); "
              f"{p['filters_reached']}/{p['filters']} filters reach the loop's activation; "
              f"speedup {p['time_to_quality_speedup']}x ({p['cpu_time_speedup']}x in CPU time)",
              flush=True)
    headline = patterns[args.networks.split(",")[0]]
    speedups = [p["time_to_quality_speedup"] for p in patterns.values()]
    result = {
        "benchmark": "visualize",
        "patterns_time_to_quality_speedup": headline["time_to_quality_speedup"],
        "patterns_loop_mean_activation": headline["loop_mean_activation"],
        "patterns_kit_mean_activation": headline["kit_mean_activation"],
        "patterns_loop_s": headline["loop_s"], "patterns_kit_s": headline["kit_s"],
        "patterns": patterns, "feature_map_explorer": explorer,
        "targets_met": {
            "patterns_10x_every_filter": all(s is not None and s >= 10 for s in speedups),
            "patterns_20x_every_filter": all(s is not None and s >= 20 for s in speedups),
            "explorer_median_100ms": explorer["median_ms"] <= 100,
            "explorer_p95_250ms": explorer["p95_ms"] <= 250,
        },
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, TF {tf.__version__}",
        "load_average_1min": [load_before, round(os.getloadavg()[0], 1)],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
