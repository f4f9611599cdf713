"""The accuracy ladder: class network, the book's augmented one, improved network, same budget.

    python benchmarks/accuracy.py --data ../shared/data/cats_vs_dogs_small --seeds 3 --budget-minutes 30
    python benchmarks/accuracy.py --data PHOTOS --models original,class-augmented,improved
    python benchmarks/accuracy.py --data PHOTOS --ablations --seeds 1 --improved-size 64 --improved-epochs 12

For every seed it trains each network from scratch (``catdogkit.training.train_in_phases``),
each for the planned epochs and photo sizes (default: its ``catdogkit.recipes.RECIPES``
entry; the improved network's phases are scaled to ``--improved-epochs`` and a final
``--improved-size``, see ``catdogkit.recipes.phases``) but at most the budget
of training time (training stops before the epoch that would push it over the budget).
Time is the process's CPU time divided by its cores: wall-clock time on a machine of its
own, and the same figure on a shared one. It prints validation and, when the folder has a
test/ split, test accuracy (plain and flip-averaged), training time and parameter count;
mean ± std over seeds at the end. The last line is one JSON object. A network with batch
normalization is then judged a second time, after its statistics are measured again on
``RECALIBRATION_BATCHES`` batches of training photos without augmentation
(``catdogkit.batch_norm``): ``validation_recalibrated`` (and ``_flip``, and the test
split's) with the minutes it took (``recalibration_minutes``), beside the plain figures.
A network whose weights fit any photo size (global average pooling: the improved one) is
also judged on larger photos than it trained on, ``TEST_SCALES`` times its last phase's
size (FixRes: zooming in while training shows it animals larger than the validation photos
do): ``validation_at_SIZE`` (and ``_flip``, and ``_recalibrated`` after its batch-norm
statistics are measured again at that size) with ``larger_photos_minutes``.

``--ablations`` measures ``catdogkit.measured.IMPROVEMENTS`` instead: the improved network
as the recipe builds it, then once without each of ``models.ABLATIONS``, once with
"smaller photos" undone (photos 150/112 times larger, epochs cut by the pixel ratio so
the run costs the same) and once with "progressive resizing" undone (every epoch on the
final size, as many as cost the same); each run's validation accuracy and its difference
from the full recipe go under ``"ablations"`` in the JSON. Use a reduced budget (small photos, few
epochs) and say so: one seed of it ranks the choices, it does not give their full-budget
worth.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import catdogkit  # noqa: F401  (sets TensorFlow's log switches before TF loads)
import keras
from catdogkit import batch_norm, models, recipes, training
from catdogkit.data import load_datasets

NETWORKS = ("original", "class-augmented", "improved")
#: Batches of 32 training photos the batch-norm statistics are measured again on (1,024 photos).
RECALIBRATION_BATCHES = 32
#: Larger photo sizes, relative to the last phase's, a network is also judged at (FixRes).
TEST_SCALES = (1.125, 1.25)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="folder with train/ and validation/")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--budget-minutes", type=float, default=30.0,
                        help="training time per model and seed on the machine's cores "
                             "(CPU time / cores, so a shared machine is not penalised; default 30)")
    parser.add_argument("--models", default="original,improved",
                        help=f"comma-separated, from {', '.join(NETWORKS)}")
    # The improved network's learning rate falls to its floor at the last planned epoch, so
    # plan what the budget allows on the machine (a shared CPU: measure, then set it).
    for name in NETWORKS:
        recipe, flag = recipes.RECIPES[name], name
        parser.add_argument(f"--{flag}-size", type=int, default=recipe["image_size"],
                            help=f"image size (default: the recipe's {recipe['image_size']})")
        parser.add_argument(f"--{flag}-epochs", type=int, default=recipe["epochs"],
                            help=f"planned epochs (default: the recipe's {recipe['epochs']})")
    parser.add_argument("--ablations", action="store_true",
                        help="measure each of the improved network's choices (see above)")
    parser.add_argument("--ablate", action="append", default=None, metavar="CHOICE",
                        help="with --ablations: a choice to leave out, once per choice, in the "
                             "order given (default: all of models.ABLATIONS, then 'smaller photos')")
    parser.add_argument("--out", default=None, help="training folders (default: a temporary one)")
    return parser.parse_args(argv)


def dedicated_seconds():
    """CPU time of this process (all threads) spread over the cores it may use.

    On a machine nobody else uses this equals wall-clock time; on a shared one it is the
    time the same training would take with the cores to itself, so budgets stay comparable.
    """
    return time.process_time() / len(os.sched_getaffinity(0))


class Budget(keras.callbacks.Callback):
    """Stops training when one more epoch (as long as the last) would pass the budget.

    The budget runs from the first phase's start to the end of the last (a plan in
    phases calls ``fit`` once per phase, and later phases' epochs cost more).
    """

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.started = seconds, None

    def on_train_begin(self, logs=None):
        if self.started is None:
            self.started = dedicated_seconds()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_started = dedicated_seconds()

    def on_epoch_end(self, epoch, logs=None):
        now = dedicated_seconds()
        if now - self.started + (now - self.epoch_started) > self.seconds:
            self.model.stop_training = True


class EpochLine(keras.callbacks.Callback):
    """One printed line per epoch (given callbacks replace train's own)."""

    def __init__(self, total):
        super().__init__()
        self.total = total

    def on_epoch_end(self, epoch, logs=None):
        shown = "  ".join(f"{k} {v:.4f}" for k, v in (logs or {}).items() if k != "learning_rate")
        print(f"epoch {epoch + 1}/{self.total}  {shown}", flush=True)


def run_one(name, plan, seed, args, out, *, leave_out=(), label=None, larger_photos=True):
    """Train network ``name`` on ``plan`` (``[(photo size, epochs), ...]``, see
    ``catdogkit.recipes.phases``) within the budget, then evaluate it: its figures as a dict
    (``larger_photos=False``: without :func:`on_larger_photos`, which an ablation's report
    leaves out)."""
    epochs = sum(count for _size, count in plan)
    label = label or name
    print(f"[{label} seed {seed}] {' then '.join(f'{e} epochs at {s}px' for s, e in plan)}, "
          f"{args.budget_minutes} min at most", flush=True)
    started, started_cpu = time.time(), dedicated_seconds()
    folder = Path(out, f"{label.replace(' ', '_').replace(',', '')}-seed{seed}")
    model, data, history = training.train_in_phases(
        name, args.data, plan, out=folder, seed=seed, resume=False, leave_out=leave_out,
        callbacks=[Budget(args.budget_minutes * 60), EpochLine(epochs)])
    seconds, dedicated = time.time() - started, dedicated_seconds() - started_cpu
    result = {"model": name, "seed": seed, "image_size": model.input_shape[1],
              "phases": [list(phase) for phase in plan], "params": model.count_params(),
              "leave_out": list(leave_out),
              "epochs": len(history["epoch"]), "planned_epochs": epochs,
              "train_minutes": round(dedicated / 60, 2), "wall_minutes": round(seconds / 60, 2),
              "best_epoch_val_accuracy": max(
                  (v for v in history.get("val_accuracy", []) if v is not None), default=None)}
    for split in ("validation", "test"):
        dataset = getattr(data, split)
        if dataset is None:
            continue
        result[split] = training.evaluate(model, dataset, data.class_names)["accuracy"]
        result[f"{split}_flip"] = training.evaluate(model, dataset, data.class_names,
                                                    flip=True)["accuracy"]
    if larger_photos:
        result.update(on_larger_photos(name, model, args.data, seed, leave_out))
    started_cpu = dedicated_seconds()
    if batch_norm.recalibrate_batch_norm(model, data.train, batches=RECALIBRATION_BATCHES):
        result["recalibration_minutes"] = round((dedicated_seconds() - started_cpu) / 60, 2)
        for split in ("validation", "test"):
            dataset = getattr(data, split)
            for flip in (False, True) if dataset is not None else ():
                result[f"{split}_recalibrated{'_flip' if flip else ''}"] = training.evaluate(
                    model, dataset, data.class_names, flip=flip)["accuracy"]
    print(f"[{label} seed {seed}] " + json.dumps(result), flush=True)
    return result


def on_larger_photos(name, model, root, seed, leave_out=()):
    """The trained ``model``'s validation accuracy on photos ``TEST_SCALES`` times larger than
    it last trained on, as trained and with its batch-norm statistics measured again at that
    size; ``{}`` for a network without global pooling (a flattened head's weights belong to
    positions of the last feature map, which larger photos move or enlarge)."""
    if not any(isinstance(layer, keras.layers.GlobalAveragePooling2D) for layer in model.layers):
        return {}
    started_cpu, figures = dedicated_seconds(), {}
    trained_size = model.input_shape[1]
    for scale in TEST_SCALES:
        size = round(trained_size * scale)
        larger = models.build(name, (size, size, 3), seed=seed, leave_out=leave_out,
                              augmentation_amounts=recipes.RECIPES[name].get("augmentation"))
        larger.set_weights(model.get_weights())
        data = load_datasets(root, image_size=size, seed=seed, cache=True, announce=lambda _message: None)
        for flip in (False, True):
            figures[f"validation_at_{size}{'_flip' if flip else ''}"] = training.evaluate(
                larger, data.validation, data.class_names, flip=flip)["accuracy"]
        if batch_norm.recalibrate_batch_norm(larger, data.train, batches=RECALIBRATION_BATCHES):
            figures[f"validation_at_{size}_recalibrated"] = training.evaluate(
                larger, data.validation, data.class_names)["accuracy"]
    figures["larger_photos_minutes"] = round((dedicated_seconds() - started_cpu) / 60, 2)
    return figures


def ablation_runs(size, epochs, chosen=None):
    """{label: change} of an ablation: the full recipe first, then one run per choice left
    out (``chosen``: a list of those, in order; None: all). Each change is a ``plan``
    (photo sizes and epochs, ``catdogkit.recipes.phases``) and what to ``leave_out``.
    "smaller photos" trains on 150/112 times larger photos for as many fewer epochs as
    their pixels cost; "progressive resizing" trains every epoch on the final size, as many
    epochs as cost the same CPU time as the phases."""
    full = recipes.phases("improved", epochs=epochs, image_size=size)
    larger = round(size * 150 / 112)
    same_cost = round(sum(count * (phase_size / size) ** 2 for phase_size, count in full))
    changes = {**{choice: {"plan": full, "leave_out": (choice,)} for choice in models.ABLATIONS},
               "smaller photos": {"plan": recipes.phases(
                   "improved", epochs=max(1, round(epochs * (size / larger) ** 2)), image_size=larger)},
               "progressive resizing": {"plan": [(size, max(1, same_cost))]}}
    chosen = list(changes) if chosen is None else chosen
    unknown = [choice for choice in chosen if choice not in changes]
    if unknown:
        raise SystemExit(f"--ablate: unknown {', '.join(map(repr, unknown))}; "
                         f"use {', '.join(map(repr, changes))}")
    return {"full recipe": {"plan": full}, **{choice: changes[choice] for choice in chosen}}


def ablations(args, out):
    """The full improved recipe, then one run without each choice: {choice: figures}."""
    runs = ablation_runs(args.improved_size, args.epochs["improved"], args.ablate)
    table = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for choice, change in runs.items():
            result = run_one("improved", change["plan"], seed, args, out,
                             leave_out=change.get("leave_out", ()), label=f"without {choice}",
                             larger_photos=False)
            table.setdefault(choice, []).append(result)
    report = {}
    full = summary(table["full recipe"], "validation")["mean"]
    for choice, results in table.items():
        report[choice] = {key: summary(results, key) for key in
                          ("validation", "validation_flip", "train_minutes", "epochs")}
        report[choice]["phases"] = results[0]["phases"]
        report[choice]["validation_change"] = full - report[choice]["validation"]["mean"]
        print(f"without {choice:40} validation {100 * report[choice]['validation']['mean']:.1f} % "
              f"(the full recipe {100 * report[choice]['validation_change']:+.1f} points)", flush=True)
    return report


def summary(results, key):
    values = [r[key] for r in results if key in r]
    if not values:
        return None
    return {"mean": statistics.mean(values),
            "std": statistics.stdev(values) if len(values) > 1 else 0.0, "n": len(values)}


def main(argv=None):
    args = parse_args(argv)
    names = args.models.split(",")
    unknown = sorted(set(names) - set(NETWORKS))
    if unknown:
        raise SystemExit(f"--models: unknown {', '.join(unknown)}; use {', '.join(NETWORKS)}")
    flags = {name: name.replace("-", "_") for name in NETWORKS}
    args.epochs = {name: getattr(args, f"{flags[name]}_epochs") for name in NETWORKS}
    sizes = {name: getattr(args, f"{flags[name]}_size") for name in NETWORKS}
    out = args.out or tempfile.mkdtemp(prefix="catdogkit-accuracy-")
    if args.ablations:
        print(json.dumps({"data": str(args.data), "budget_minutes": args.budget_minutes,
                          "image_size": args.improved_size, "epochs": args.epochs["improved"],
                          "seeds": args.seeds, "ablations": ablations(args, out)}))
        return 0
    results = []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name in names:
            plan = recipes.phases(name, epochs=args.epochs[name], image_size=sizes[name])
            results.append(run_one(name, plan, seed, args, out))
    report = {"data": str(args.data), "budget_minutes": args.budget_minutes, "models": {}}
    print(f"\n{'model':16} {'validation':>17} {'val+flip':>17} {'test':>17} {'test+flip':>17} "
          f"{'minutes':>8} {'params':>10}")
    for name in names:
        mine = [r for r in results if r["model"] == name]
        stats = {key: summary(mine, key) for key in
                 ("validation", "validation_flip", "test", "test_flip", "train_minutes", "epochs",
                  "validation_recalibrated", "validation_recalibrated_flip", "test_recalibrated",
                  "test_recalibrated_flip", "recalibration_minutes")}
        stats["params"] = mine[0]["params"]
        stats["runs"] = mine
        report["models"][name] = stats

        def cell(key):
            s = stats[key]
            return f"{100 * s['mean']:.1f} ± {100 * s['std']:.1f} %" if s else "-"
        print(f"{name:16} {cell('validation'):>17} {cell('validation_flip'):>17} {cell('test'):>17} "
              f"{cell('test_flip'):>17} {stats['train_minutes']['mean']:>8.1f} {stats['params']:>10,}")
        if stats["validation_recalibrated"]:
            print(f"{'  recalibrated':16} {cell('validation_recalibrated'):>17} "
                  f"{cell('validation_recalibrated_flip'):>17} {cell('test_recalibrated'):>17} "
                  f"{cell('test_recalibrated_flip'):>17} {stats['recalibration_minutes']['mean']:>8.2f}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
