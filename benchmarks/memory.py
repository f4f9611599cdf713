"""Peak memory of one epoch's input: streamed tf.data versus the class manual's one big array.

Each measurement runs in its own process (peak RSS is per process and never goes down).
Streaming reads every training photo once through ``catdogkit.data.load_datasets``; the
class manual's way loads every photo into one float32 NumPy array first. The big array
needs 270 KB per 150x150 photo, so above ``--array-limit`` photos it is extrapolated
from the two smaller measurements instead of swapping the machine to death (those load
the first N photos of the 25,000-photo sample).

    nice -n 10 .venv/bin/python benchmarks/memory.py            # 2,500 vs 25,000 photos

Last line: one JSON object with the figures.
"""
import argparse
import json
import resource
import subprocess
import sys
import time

import catdogkit  # noqa: F401  (sets TensorFlow's log switches, inherited by child processes)

SIZES = (2_500, 25_000)


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _sample(n_photos):
    from catdogkit.sample import make_sample
    per_class = n_photos // 2
    return make_sample({"train": per_class, "validation": 1, "test": 0})


def measure_streaming(n_photos):
    from catdogkit.data import load_datasets
    data = load_datasets(_sample(n_photos), batch_size=32, announce=lambda _: None)
    seen = sum(int(labels.shape[0]) for _, labels in data.train)
    return {"photos": seen, "peak_mb": _peak_mb()}


def measure_array(n_photos):
    """The class manual: every photo decoded into one (N, 150, 150, 3) float32 array, then batches."""
    import numpy as np
    import tensorflow as tf  # noqa: F401  (the manual's process holds TF too: compare like with like)
    from catdogkit.data import list_photos, load_photo
    # The first photos of the largest sample: no extra sample to draw for each size.
    paths = list_photos(_sample(SIZES[-1]), "train")[:n_photos]
    images = np.empty((len(paths), 150, 150, 3), dtype=np.float32)
    for index, path in enumerate(paths):
        images[index] = load_photo(path)
    seen = sum(len(images[start:start + 32]) for start in range(0, len(images), 32))
    return {"photos": seen, "peak_mb": _peak_mb()}


def _child(kind, n_photos):
    command = [sys.executable, __file__, "--child", kind, str(n_photos)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs=2, metavar=("KIND", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--array-limit", type=int, default=10_000,
                        help="largest set the big-array way really loads (default 10,000 photos)")
    args = parser.parse_args()
    if args.child:
        kind, n_photos = args.child[0], int(args.child[1])
        print(json.dumps((measure_streaming if kind == "streaming" else measure_array)(n_photos)))
        return
    started = time.time()
    for n in SIZES:
        drawn = time.time()
        _sample(n)
        print(f"sample of {n:,} photos ready in {time.time() - drawn:.0f} s")
    streaming = {n: _child("streaming", n) for n in SIZES}
    array_sizes = (SIZES[0], min(SIZES[1], args.array_limit))
    array = {n: _child("array", n) for n in array_sizes}
    (n1, a1), (n2, a2) = [(n, array[n]["peak_mb"]) for n in array_sizes]
    per_photo = (a2 - a1) / (n2 - n1)
    array_big = array.get(SIZES[1], {}).get("peak_mb") or a1 + per_photo * (SIZES[1] - n1)
    result = {
        "streaming_peak_mb": {str(n): round(streaming[n]["peak_mb"]) for n in SIZES},
        "streaming_ratio": round(streaming[SIZES[1]]["peak_mb"] / streaming[SIZES[0]]["peak_mb"], 3),
        "array_peak_mb": {str(n): round(array[n]["peak_mb"]) for n in array_sizes},
        "array_peak_mb_25000": round(array_big),
        "array_25000_extrapolated": SIZES[1] not in array,
        "array_ratio": round(array_big / a1, 2),
        "seconds": round(time.time() - started),
    }
    for n in SIZES:
        print(f"streaming, {n:>6,} photos: peak RSS {streaming[n]['peak_mb']:,.0f} MB")
    for n in array_sizes:
        print(f"one array, {n:>6,} photos: peak RSS {array[n]['peak_mb']:,.0f} MB")
    print(f"one array, {SIZES[1]:>6,} photos: {array_big:,.0f} MB"
          + (" (extrapolated)" if result["array_25000_extrapolated"] else ""))
    print(f"ratio 25,000 / 2,500: streaming {result['streaming_ratio']}, one array {result['array_ratio']}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
