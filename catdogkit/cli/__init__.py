"""The ``catdogkit`` command: serve the lessons, train, evaluate, find and check photos.

Each group of subcommands lives in its own module with a ``register(subparsers)``
function; this one only wires them and turns kit errors into clean messages.
"""
import argparse
import sys

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _

_COMMAND_MODULES = ("serve", "train", "data")

DESCRIPTION = """\
Learn how a convolutional network sees cats and dogs.

Start here:
  catdogkit serve              open the lessons as web pages (Voila)
  catdogkit demo               train the class network on the built-in sample photos
  catdogkit data where         which photos would be used, and why
  catdogkit data check PATH    find broken photos in a folder (never changes them)
  catdogkit train --model improved --data PATH --epochs 20 --out runs/improved
  catdogkit evaluate --model runs/improved --data PATH
"""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="catdogkit", description=_(DESCRIPTION),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from catdogkit import __version__
    parser.add_argument("--version", action="version", version=f"catdogkit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = __import__(f"catdogkit.cli.{name}", fromlist=["register"])
        module.register(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args) or 0
    except CatDogKitError as error:
        print(_("catdogkit: error: {error}").format(error=error), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(_("catdogkit: interrupted"), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
