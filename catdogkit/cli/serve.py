"""``catdogkit serve``: the lessons as Voila web pages, on this computer only by default."""
from catdogkit.i18n import _
from catdogkit.kernel_pools import DEFAULT_PREHEAT, PREHEAT_MIN_MEMORY_GB
from catdogkit.serve import DEFAULT_PORT


def register(subparsers):
    parser = subparsers.add_parser(
        "serve", help=_("open the lessons as web pages (Voila)"),
        description=_("Serve the lessons/ folder as Voila web pages at http://127.0.0.1:PORT "
                      "(never the repository root). Settings: lessons/voila.json."))
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=_("port to listen on (default {port}); a port in use is an error").format(
                            port=DEFAULT_PORT))
    parser.add_argument("--data", metavar="PATH", default=None,
                        help=_("folder of photos the lessons use (sets CATDOGKIT_DATA for every "
                               "page); default: the usual search, ending with the embedded sample"))
    parser.add_argument("--no-browser", action="store_true",
                        help=_("do not open a web browser"))
    parser.add_argument("--no-training", action="store_true",
                        help=_("start at once, without first training the lesson models that "
                               "are not cached yet (their pages then train on first view)"))
    parser.add_argument("--preheat", type=int, default=None, metavar="N",
                        help=_("kernels per lesson that run it before anyone opens it, so a page "
                               "is ready at once; each takes 0.4-0.7 GB of memory; 0 turns this "
                               "off (default {preheat} with at least {memory} GB of memory, "
                               "else 0)").format(preheat=DEFAULT_PREHEAT, memory=PREHEAT_MIN_MEMORY_GB))
    parser.add_argument("--preheat-lesson", action="append", default=[], metavar="LESSON=N",
                        help=_("keep N kernels ready for one lesson, e.g. 07=20 for the lesson a class "
                               "of 20 opens together (LESSON: its file name or a unique beginning, "
                               "such as 07; repeat for more lessons)"))
    parser.add_argument("--no-kernel-forks", action="store_true",
                        help=_("start every page's kernel from scratch instead of as a copy of one "
                               "process that has already imported TensorFlow (slower; a copy "
                               "keeps the kit as it was when the server started)"))
    parser.set_defaults(run=run)
    return parser


def run(args):
    from catdogkit.serve import serve
    return serve(port=args.port, data=args.data, open_browser=not args.no_browser,
                 train_first=not args.no_training, preheat=args.preheat,
                 preheat_lessons=args.preheat_lesson, fork_kernels=not args.no_kernel_forks)
