"""``catdogkit data``: where the photos are, whether they are usable, and fetching them."""
import json

from catdogkit.i18n import _


def register(subparsers):
    parser = subparsers.add_parser(
        "data", help=_("find, check and download photos"),
        description=_("Find, check and download the cats-and-dogs photos."))
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    parser.set_defaults(run=lambda args: parser.print_help() or 0)

    where = commands.add_parser("where", help=_("which photos would be used, and why"))
    where.set_defaults(run=_where)

    check = commands.add_parser(
        "check", help=_("find broken photos in a folder (never changes them)"),
        description=_("Scan every file under PATH and report usable photos per split and class and "
                      "every unusable file with its reason. Exit code 0: all usable; 1: some left out; "
                      "2: the set cannot be used."))
    check.add_argument("path", metavar="PATH", help=_("folder with train/ and validation/, "
                                                      "cat.N.jpg files, or PetImages/"))
    check.add_argument("--json", action="store_true", help=_("print one JSON object instead of text"))
    check.set_defaults(run=_check)

    fetch = commands.add_parser(
        "fetch", help=_("download and extract a photo archive (atomic, verified)"),
        description=_("Download the photo archive once (default: the 2,000/1,000 cats-and-dogs subset "
                      "used by TensorFlow's tutorials), verify it and extract it."))
    fetch.add_argument("--to", metavar="DIR", help=_("where to keep it (default: the kit's cache)"))
    fetch.add_argument("--url", metavar="URL", help=_("archive to download (zip or tar)"))
    fetch.add_argument("--sha256", metavar="HEX", help=_("expected SHA-256 of the archive"))
    fetch.set_defaults(run=_fetch)


def _where(args):
    from catdogkit.data import find_data
    find_data(prepare=False)
    return 0


def _check(args):
    from catdogkit.data import check_photos
    report = check_photos(args.path)
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False))
    else:
        print(report.summary())
    return report.exit_code


def _fetch(args):
    from catdogkit.data import DEFAULT_URL, fetch_archive
    root = fetch_archive(args.url or DEFAULT_URL, args.to, args.sha256)
    print(_("Photos ready in {root}\nNext: catdogkit data check \"{root}\"").format(root=root))
    return 0
