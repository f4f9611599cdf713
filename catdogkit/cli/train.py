"""``catdogkit train``, ``evaluate`` and ``demo``: the lessons' training, from a terminal.

TensorFlow is imported inside each command, so ``catdogkit --help`` stays fast.
"""
import json
from pathlib import Path

from catdogkit.errors import CatDogKitError

MODELS = ("original", "improved")


def register(subparsers):
    train = subparsers.add_parser(
        "train", help="train the class network or the improved one on a photo folder",
        description="Train a network and write it to OUT/model.keras. Every epoch is "
                    "checkpointed in OUT: run the same command again after an interruption "
                    "and it resumes after the last completed epoch.")
    train.add_argument("--model", choices=MODELS, default="original",
                       help="original: the class-manual CNN; improved: lesson 07's network")
    train.add_argument("--data", metavar="PATH", default=None,
                       help="photo folder with train/ and validation/ (default: the usual "
                            "search, ending with the embedded sample)")
    train.add_argument("--epochs", type=int, default=10, help="epochs in total (default 10)")
    train.add_argument("--out", metavar="DIR", required=True,
                       help="folder for checkpoints, history.json and model.keras")
    train.add_argument("--image-size", type=int, default=150,
                       help="photos are resized to this square size (default 150)")
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--seed", type=int, default=1337)
    train.set_defaults(run=run_train)

    evaluate = subparsers.add_parser(
        "evaluate", help="accuracy of a trained model on a photo folder",
        description="Print accuracy, loss and counts per class of a model on the test "
                    "photos (validation when there is no test/ folder).")
    evaluate.add_argument("--model", metavar="FILE_OR_DIR", required=True,
                          help="a .keras file or a folder written by `catdogkit train`")
    evaluate.add_argument("--data", metavar="PATH", default=None)
    evaluate.add_argument("--split", choices=("test", "validation", "train"), default=None,
                          help="default: test when present, else validation")
    evaluate.add_argument("--image-size", type=int, default=None,
                          help="must match the model's input (default: taken from the model)")
    evaluate.add_argument("--flip", action="store_true",
                          help="average each prediction with the mirrored photo's")
    evaluate.add_argument("--json", action="store_true",
                          help="end with one JSON line (accuracy, loss, n, per_class)")
    evaluate.set_defaults(run=run_evaluate)

    demo = subparsers.add_parser(
        "demo", help="train the class network on the built-in sample photos",
        description="Train the class-manual network on the embedded sample (cached after "
                    "the first run) and print its validation accuracy.")
    demo.add_argument("--model", choices=MODELS, default="original")
    demo.add_argument("--epochs", type=int, default=None,
                      help="default: the lessons' setting")
    demo.set_defaults(run=run_demo)


def _datasets(path, image_size, batch_size=32, seed=1337):
    from catdogkit.data import find_data, load_datasets
    root = find_data(path).root
    datasets = load_datasets(root, image_size=image_size, batch_size=batch_size, seed=seed)
    if len(datasets.class_names) != 2:
        raise CatDogKitError(f"{root} has {len(datasets.class_names)} class folder(s) "
                             f"{list(datasets.class_names)}: the networks need two, "
                             "e.g. cats/ and dogs/")
    return datasets


def run_train(args):
    from catdogkit import models, training
    out = training.writable_folder(args.out)
    if args.epochs < 1:
        raise CatDogKitError(f"--epochs {args.epochs}: train for at least one epoch")
    datasets = _datasets(args.data, args.image_size, args.batch_size, args.seed)
    import keras
    keras.utils.set_random_seed(args.seed)
    shape = (args.image_size, args.image_size, 3)
    if args.model == "original":
        model = models.original_cnn(shape)
    else:
        steps = args.epochs * max(1, int(datasets.train.cardinality()))
        model = models.improved_cnn(shape, total_steps=steps, seed=args.seed)
    training.train(model, datasets, epochs=args.epochs, out=out, progress="lines")
    result = training.evaluate(model, datasets.validation, datasets.class_names)
    print(f"validation accuracy {result['accuracy']:.3f} on {result['n']} photos")
    print(f"model saved to {Path(out) / training.MODEL}")
    return 0


def run_evaluate(args):
    from catdogkit import models, training
    model = models.load_model(args.model)
    size = model.input_shape[1]
    if args.image_size is not None and args.image_size != size:
        raise CatDogKitError(f"--image-size {args.image_size} does not match the model, "
                             f"which takes {size}x{size} photos: leave --image-size out")
    datasets = _datasets(args.data, size)
    split = args.split or ("test" if datasets.test is not None else "validation")
    dataset = getattr(datasets, split)
    if dataset is None:
        raise CatDogKitError(f"the photos have no {split}/ folder")
    result = training.evaluate(model, dataset, datasets.class_names, flip=args.flip)
    result.update(model=model.name, split=split)
    print(f"{model.name} on {result['n']} {split} photos: accuracy {result['accuracy']:.3f}, "
          f"loss {result['loss']:.3f}")
    for name, counts in result["per_class"].items():
        print(f"  {name}: {counts['correct']}/{counts['n']} right")
    if args.json:
        print(json.dumps(result))
    return 0


def run_demo(args):
    from catdogkit import training
    from catdogkit.data import load_datasets
    from catdogkit.sample import make_sample
    root = make_sample()
    model = training.lesson_model(args.model, root, epochs=args.epochs, progress="lines")
    datasets = load_datasets(root, image_size=model.input_shape[1])
    result = training.evaluate(model, datasets.validation, datasets.class_names)
    print(f"{model.name}: validation accuracy {result['accuracy']:.3f} on {result['n']} "
          "sample photos")
    return 0
