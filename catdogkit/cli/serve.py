"""``catdogkit serve``: the lessons as Voila web pages, on this computer only by default."""
from catdogkit.serve import DEFAULT_PORT, DEFAULT_PREHEAT, PREHEAT_MIN_MEMORY_GB


def register(subparsers):
    parser = subparsers.add_parser(
        "serve", help="open the lessons as web pages (Voila)",
        description="Serve the lessons/ folder as Voila web pages at http://127.0.0.1:PORT "
                    "(never the repository root). Settings: lessons/voila.json.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"port to listen on (default {DEFAULT_PORT}); a port in use is an error")
    parser.add_argument("--data", metavar="PATH", default=None,
                        help="folder of photos the lessons use (sets CATDOGKIT_DATA for every "
                             "page); default: the usual search, ending with the embedded sample")
    parser.add_argument("--no-browser", action="store_true",
                        help="do not open a web browser")
    parser.add_argument("--no-training", action="store_true",
                        help="start at once, without first training the lesson models that "
                             "are not cached yet (their pages then train on first view)")
    parser.add_argument("--preheat", type=int, default=None, metavar="N",
                        help=f"kernels per lesson that run it before anyone opens it, so a page "
                             f"is ready at once; each takes 0.6-1.5 GB of memory; 0 turns this "
                             f"off (default {DEFAULT_PREHEAT} with at least "
                             f"{PREHEAT_MIN_MEMORY_GB} GB of memory, else 0)")
    parser.set_defaults(run=run)
    return parser


def run(args):
    from catdogkit.serve import serve
    return serve(port=args.port, data=args.data, open_browser=not args.no_browser,
                 train_first=not args.no_training, preheat=args.preheat)
