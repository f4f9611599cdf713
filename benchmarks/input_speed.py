"""Photos per second into a network: the kit's tf.data pipeline versus the class manual's generator.

Both read the 2,000 real training photos at 150x150 in batches of 32, as for one epoch of
training, without a model (input speed only). The class manual's loop is
``ImageDataGenerator(rescale=1/255).flow_from_directory(...)`` (kept in
``keras.src.legacy``); the kit's is ``catdogkit.data.load_datasets``, measured without a
cache (every epoch decodes every photo, as the generator does) and with its on-disk cache
(``cache=FOLDER``: decoded photos written to files during the first epoch and streamed from
them in every later one, which is what a multi-epoch training run sees). Each is timed over ``--epochs`` passes after one warm-up pass; the best pass counts.

    nice -n 10 .venv/bin/python benchmarks/input_speed.py [--data DIR]

Last line: one JSON object with the figures.
"""
import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import catdogkit  # noqa: F401  (sets TensorFlow's log switches, inherited by child processes)

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "cats_vs_dogs_small"


def _best_rate(run_epoch, epochs):
    """Best wall-clock photos/s, and photos per CPU-second (steadier on a shared machine)."""
    run_epoch()  # warm-up: file-system cache, graph tracing, thread pools
    rates, cpu_rates = [], []
    for _ in range(epochs):
        started, cpu_started = time.perf_counter(), time.process_time()
        photos = run_epoch()
        rates.append(photos / (time.perf_counter() - started))
        cpu_rates.append(photos / (time.process_time() - cpu_started))
    return max(rates), max(cpu_rates), photos


def pipeline_epoch(root, cache=None):
    from catdogkit.data import load_datasets
    data = load_datasets(root, batch_size=32, cache=cache, announce=lambda _: None)
    return lambda: sum(int(labels.shape[0]) for _, labels in data.train)


def generator_epoch(root):
    from keras.src.legacy.preprocessing.image import ImageDataGenerator
    flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        str(Path(root) / "train"), target_size=(150, 150), batch_size=32, class_mode="binary")
    steps = len(flow)

    def run():
        return sum(len(flow[step][1]) for step in range(steps))

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="split folder with train/ (default: the real photos)")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    pipeline_rate, pipeline_cpu, photos = _best_rate(pipeline_epoch(args.data), args.epochs)
    with tempfile.TemporaryDirectory() as cache:
        cached_rate, cached_cpu, _ = _best_rate(pipeline_epoch(args.data, cache), args.epochs)
    generator_rate, generator_cpu, _ = _best_rate(generator_epoch(args.data), args.epochs)
    result = {
        "photos_per_epoch": photos, "cpu_count": os.cpu_count(), "load_average": round(os.getloadavg()[0], 1),
        "pipeline_photos_per_s": round(pipeline_rate), "generator_photos_per_s": round(generator_rate),
        "speedup": round(pipeline_rate / generator_rate, 2),
        "pipeline_photos_per_cpu_s": round(pipeline_cpu), "generator_photos_per_cpu_s": round(generator_cpu),
        "cpu_speedup": round(pipeline_cpu / generator_cpu, 2),
        "cached_photos_per_s": round(cached_rate), "cached_photos_per_cpu_s": round(cached_cpu),
        "cached_speedup": round(cached_rate / generator_rate, 2),
    }
    print(f"{photos} photos per epoch, {os.cpu_count()} CPU cores, load average {result['load_average']}")
    print(f"catdogkit tf.data pipeline:      {pipeline_rate:6.0f} photos/s, {pipeline_cpu:6.0f} photos per CPU-second")
    print(f"  with its on-disk cache (epochs 2+): {cached_rate:6.0f} photos/s, {cached_cpu:6.0f} photos per CPU-second")
    print(f"class manual ImageDataGenerator: {generator_rate:6.0f} photos/s, {generator_cpu:6.0f} photos per CPU-second")
    print(f"speed-up: {result['speedup']}x wall clock, {result['cpu_speedup']}x per CPU-second; "
          f"{result['cached_speedup']}x with the on-disk cache")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
