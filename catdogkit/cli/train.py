"""``catdogkit train``, ``evaluate`` and ``demo``: the lessons' training, from a terminal.

TensorFlow is imported inside each command, so ``catdogkit --help`` stays fast.
"""
import json
from pathlib import Path

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _, format_number

# Networks the command line trains from scratch (transfer learning needs a download: lesson 07).
MODELS = ("original", "class-augmented", "improved")
LESSON_MODELS = ("original", "improved")


def register(subparsers):
    train = subparsers.add_parser(
        "train", help=_("train the class network, the book's augmented one or the improved one"),
        description=_("Train a network and write it to OUT/model.keras. Every epoch is "
                      "backed up in OUT: run the same command again after an interruption "
                      "and it resumes after the last completed epoch. Without --epochs and "
                      "--image-size each network follows its measured recipe "
                      "(catdogkit.recipes.RECIPES; improved: 68 epochs on 64, 96, then 128 px "
                      "photos, cached on disk)."))
    train.add_argument("--model", choices=MODELS, default="original",
                       help=_("original: the class-manual CNN; class-augmented: it with "
                              "augmentation and Dropout 0.5 (the Keras book's second model); "
                              "improved: lesson 07's network"))
    train.add_argument("--data", metavar="PATH", default=None,
                       help=_("photo folder with train/ and validation/ (default: the usual "
                              "search, ending with the embedded sample)"))
    train.add_argument("--epochs", type=int, default=None,
                       help=_("epochs in total (default: the recipe's, e.g. 68 for improved)"))
    train.add_argument("--out", metavar="DIR", required=True,
                       help=_("folder for checkpoints, history.json and model.keras"))
    train.add_argument("--image-size", type=int, default=None,
                       help=_("photos are resized to this square size (default: the recipe's, "
                              "150 for original, 128 for improved, which trains on smaller "
                              "photos first)"))
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--seed", type=int, default=1337)
    train.set_defaults(run=run_train)

    evaluate = subparsers.add_parser(
        "evaluate", help=_("accuracy of a trained model on a photo folder"),
        description=_("Print accuracy, loss and counts per class of a model on the test "
                      "photos (validation when there is no test/ folder). A folder of class "
                      "folders (cats/, dogs/ or any two names), or one holding only test/, "
                      "is evaluated whole."))
    evaluate.add_argument("--model", metavar="FILE_OR_DIR", required=True,
                          help=_("a .keras file or a folder written by `catdogkit train`"))
    evaluate.add_argument("--data", metavar="PATH", default=None)
    evaluate.add_argument("--split", choices=("test", "validation", "train"), default=None,
                          help=_("default: test when present, else validation"))
    evaluate.add_argument("--image-size", type=int, default=None,
                          help=_("must match the model's input (default: taken from the model)"))
    evaluate.add_argument("--flip", action="store_true",
                          help=_("average each prediction with the mirrored photo's"))
    evaluate.add_argument("--json", action="store_true",
                          help=_("end with one JSON line (accuracy, loss, n, per_class)"))
    evaluate.set_defaults(run=run_evaluate)

    demo = subparsers.add_parser(
        "demo", help=_("train the class network on the built-in sample photos"),
        description=_("Train the class-manual network on the embedded sample (cached after "
                      "the first run) and print its validation accuracy."))
    demo.add_argument("--model", choices=LESSON_MODELS, default="original")
    demo.add_argument("--epochs", type=int, default=None,
                      help=_("default: the lessons' setting"))
    demo.set_defaults(run=run_demo)


def _photos(path):
    """The photo folder to use (``path``, or the usual search), said once."""
    from catdogkit.data import find_data
    return Path(find_data(path).root)


def _datasets(root, image_size):
    from catdogkit import training
    from catdogkit.data import load_datasets
    datasets = load_datasets(root, image_size=image_size)
    training.check_two_classes(datasets, root)
    return datasets


def run_train(args):
    from catdogkit import recipes, training
    recipe = recipes.RECIPES[args.model]
    if args.epochs is not None and args.epochs < 1:
        raise CatDogKitError(_("--epochs {epochs}: train for at least one epoch").format(epochs=args.epochs))
    if args.image_size is not None and args.image_size < 1:
        raise CatDogKitError(_("--image-size {size}: photos need at least 1 pixel").format(size=args.image_size))
    plan = recipes.phases(args.model, epochs=args.epochs, image_size=args.image_size)
    epochs, size = sum(count for _size, count in plan), plan[-1][0]
    out = training.writable_folder(args.out)
    if len(plan) == 1:
        said = _("{model}: {epochs} epochs at {size}x{size} px").format(
            model=args.model, epochs=epochs, size=size)
    else:
        said = _("{model}: {epochs} epochs, on photos of {sizes} px in turn (progressive resizing)").format(
            model=args.model, epochs=epochs, sizes=", ".join(str(s) for s, _count in plan))
    print(said + (_(", photos cached on disk after the first epoch") if recipe["cache"] else ""), flush=True)
    model, datasets, _history = training.train_in_phases(
        args.model, _photos(args.data), plan, out=out, seed=args.seed, batch_size=args.batch_size,
        cache=recipe["cache"])
    result = training.evaluate(model, datasets.validation, datasets.class_names)
    print(_("validation accuracy {accuracy} on {n} photos").format(
        accuracy=format_number(result["accuracy"], 3), n=result["n"]))
    print(_("model saved to {path}").format(path=Path(out) / training.MODEL))
    return 0


def _evaluation_photos(path, size, split):
    """``(dataset, class_names, split, what)``: the photos to evaluate on, their split
    (``"all"`` for a whole folder) and a phrase naming them.

    A folder of class folders (no train/validation split) is evaluated whole; so is a
    folder holding only test/. Otherwise ``split`` (default: test, else validation).
    """
    from catdogkit.data.layouts import SPLIT_ALIASES
    root = _photos(path)
    splits = {SPLIT_ALIASES[p.name.lower()]: p for p in root.iterdir()
              if p.is_dir() and p.name.lower() in SPLIT_ALIASES}
    if set(splits) == {"test"} and split in (None, "test"):
        root = splits["test"]
    datasets = _datasets(root, size)
    if datasets.report.made_split:
        if split is not None:
            raise CatDogKitError(_("{root} has no {split}/ folder: leave --split out to evaluate every "
                                   "photo in it").format(root=root, split=split))
        every = datasets.train.concatenate(datasets.validation)
        return every, datasets.class_names, "all", _("photos, every one in {root}").format(root=root)
    split = split or ("test" if datasets.test is not None else "validation")
    dataset = getattr(datasets, split)
    if dataset is None:
        raise CatDogKitError(_("the photos have no {split}/ folder").format(split=split))
    return dataset, datasets.class_names, split, _("{split} photos").format(split=_(split))


def run_evaluate(args):
    from catdogkit import models, training
    model = models.load_model(args.model)
    size = model.input_shape[1]
    if args.image_size is not None and args.image_size != size:
        raise CatDogKitError(_("--image-size {asked} does not match the model, which takes {size}x{size} "
                               "photos: leave --image-size out").format(asked=args.image_size, size=size))
    dataset, class_names, split, what = _evaluation_photos(args.data, size, args.split)
    result = training.evaluate(model, dataset, class_names, flip=args.flip)
    result.update(model=model.name, split=split)
    print(_("{model} on {n} {what}: accuracy {accuracy}, loss {loss}").format(
        model=model.name, n=result["n"], what=what, accuracy=format_number(result["accuracy"], 3),
        loss=format_number(result["loss"], 3)))
    for name, counts in result["per_class"].items():
        print(_("  {name}: {correct}/{n} right").format(name=name, correct=counts["correct"], n=counts["n"]))
    if args.json:
        print(json.dumps(result))
    return 0


def run_demo(args):
    from catdogkit import training
    from catdogkit.data import load_datasets
    from catdogkit.sample import make_sample
    root = make_sample()
    model = training.lesson_model(args.model, root, epochs=args.epochs)
    datasets = load_datasets(root, image_size=model.input_shape[1])
    result = training.evaluate(model, datasets.validation, datasets.class_names)
    print(_("{model}: validation accuracy {accuracy} on {n} sample photos").format(
        model=model.name, accuracy=format_number(result["accuracy"], 3), n=result["n"]))
    return 0
