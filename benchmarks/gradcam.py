"""Where the networks look, measured: Grad-CAM against the sample's known animal masks.

    .venv/bin/python benchmarks/gradcam.py [--limit 400] [--layer NETWORK=LAYER ...] [--plain]

The embedded sample draws every photo itself, so it knows where the animal (head with its
ears, whiskers and ink line, neck and shoulders) is. For each validation photo of the
lesson sample this computes the Grad-CAM map of the true class (the kit's ``grad_cam`` on
``default_cam_layer``: the last convolution wider than 1x1, once activated; averaged over
quarter-cell shifts of the photo, or with ``--plain`` the plain map at the layer's
resolution), resized to the photo, and reports, for the two trained lesson networks and an untrained control of
each:

- ``pointing``: the fraction of photos whose map peaks on the animal (and, in
  ``pointing_by_class``, the same for the cats and for the dogs);
- ``energy_inside``: the mean share of the map's mass that lies on the animal;
- ``area``: the mean share of the photo the animal covers (the pointing a map that
  peaks at random would score), and ``blank``: photos whose map is all zero;
- ``pointing_within_half_cell``: the same as ``pointing``, counting also a peak less than
  half a map cell from the animal. A map of the layer's resolution cannot place its peak
  closer than that (a 10x10 map has 15-px cells on a 150-px photo), so this separates a
  look at the background from a peak that straddles the animal's edge; the pointing game
  of the literature (Zhang et al. 2016) likewise allows 15 px.

The last line printed is one JSON object with every figure. Target (issue 12): the
improved network ≥ 0.85 pointing and clearly above the untrained control.
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("CATDOGKIT_CACHE", str(REPO / ".cache" / "catdogkit"))  # the lesson models

import catdogkit  # noqa: F401,E402  (sets TensorFlow's log switches before TF loads)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from catdogkit import models, sample, training  # noqa: E402
from catdogkit.visualize import default_cam_layer, grad_cam  # noqa: E402
from catdogkit.visualize.heatmaps import activated_layer  # noqa: E402
from catdogkit.visualize.layers import layer_graph  # noqa: E402


def validation_photos(root, limit):
    """(photo float32 0..255, mask bool, label) of the sample's validation photos, in turn."""
    count = len(list((Path(root) / "validation" / sample.CLASSES[0]).glob("*.jpg")))
    size = Image.open(next((Path(root) / "validation" / sample.CLASSES[0]).glob("*.jpg"))).size[0]
    out = []
    for i in range(count):
        for label, name in enumerate(sample.CLASSES):
            path = Path(root) / "validation" / name / f"{name[:-1]}.{i}.jpg"
            _drawn, mask = sample.draw_photo(name, sample.photo_rng(0, "validation", label, i), size,
                                             with_mask=True)
            out.append((np.asarray(Image.open(path).convert("RGB"), np.float32), mask, label))
            if len(out) >= limit:
                return out
    return out


def distance_to(mask, point):
    """Pixels from ``point`` (row, column) to the nearest pixel of ``mask`` (0 on it)."""
    rows, cols = np.nonzero(mask)
    return float(np.sqrt(((rows - point[0]) ** 2 + (cols - point[1]) ** 2).min()))


def measure(model, photos, layer=None, shifted=True):
    hits, near, inside, blank, labels = [], [], [], 0, []
    read = activated_layer(model, layer or default_cam_layer(model))
    cells = layer_graph(model)[1][read][1].shape[1]  # the layer's map, not the finer shifted one
    for photo, mask, label in photos:
        labels.append(label)
        cam = grad_cam(model, photo, layer, class_index=label, shifted=shifted)
        big = tf.image.resize(cam[..., None], mask.shape).numpy()[..., 0]
        if big.max() <= 0:
            blank += 1
            hits.append(False)
            near.append(False)
            inside.append(0.0)
            continue
        peak = np.unravel_index(np.argmax(big), big.shape)
        hits.append(bool(mask[peak]))
        near.append(distance_to(mask, peak) < mask.shape[0] / cells / 2)
        inside.append(float(big[mask].sum() / big.sum()))
    hits, labels = np.array(hits), np.array(labels)
    by_class = {name: round(float(hits[labels == c].mean()), 3)
                for c, name in enumerate(sample.CLASSES) if (labels == c).any()}
    return {"pointing": round(float(hits.mean()), 3), "pointing_by_class": by_class,
            "pointing_within_half_cell": round(float(np.mean(near)), 3),
            "energy_inside": round(float(np.mean(inside)), 3), "blank": blank,
            "layer": read}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=400, help="validation photos (default: all 400)")
    parser.add_argument("--layer", action="append", default=[], metavar="NETWORK=LAYER",
                        help="read another layer of a network, e.g. improved=head_relu")
    parser.add_argument("--plain", action="store_true",
                        help="Grad-CAM without the quarter-cell shifts (the map of the layer alone)")
    args = parser.parse_args(argv)
    chosen = dict(item.split("=", 1) for item in args.layer)
    started = time.perf_counter()
    root = sample.make_sample()
    photos = validation_photos(root, args.limit)
    networks = {"original": training.lesson_model("original", root),
                "improved": training.lesson_model("improved", root)}
    for name in list(networks):
        networks[f"untrained_{name}"] = models.build(name, networks[name].input_shape[1:], seed=0)
    results = {name: measure(net, photos, chosen.get(name), shifted=not args.plain)
               for name, net in networks.items()}
    for name, figures in results.items():
        print(f"{name} ({figures['layer']}): pointing {figures['pointing']:.2f} "
              f"{figures['pointing_by_class']}, energy inside {figures['energy_inside']:.2f}, "
              f"blank maps {figures['blank']}")
    summary = {
        "benchmark": "gradcam",
        "machine": f"{platform.node()} {os.cpu_count()} CPUs",
        "photos": len(photos),
        "shifted": not args.plain,
        "area": round(float(np.mean([mask.mean() for _p, mask, _l in photos])), 3),
        "pointing": {"original": results["original"]["pointing"],
                     "improved": results["improved"]["pointing"],
                     "untrained": {"original": results["untrained_original"]["pointing"],
                                   "improved": results["untrained_improved"]["pointing"]}},
        "energy_inside": {"original": results["original"]["energy_inside"],
                          "improved": results["improved"]["energy_inside"],
                          "untrained": {"original": results["untrained_original"]["energy_inside"],
                                        "improved": results["untrained_improved"]["energy_inside"]}},
        "pointing_by_class": {name: figures["pointing_by_class"] for name, figures in results.items()},
        "pointing_within_half_cell": {name: figures["pointing_within_half_cell"]
                                      for name, figures in results.items()},
        "blank": {name: figures["blank"] for name, figures in results.items()},
        "layers": {name: figures["layer"] for name, figures in results.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
