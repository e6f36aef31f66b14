"""`adrs dashboard`: watch runs live in a browser (read-only)."""

from __future__ import annotations

import secrets
import sys

from adrs.cli.common import store_args
from adrs.errors import UserError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def register(sub) -> None:
    """Add dashboard to the parser."""
    p = sub.add_parser("dashboard", help="a live, read-only web dashboard over runs "
                       "(pip install 'adrs[dashboard]')")
    p.add_argument("runs", nargs="*", metavar="RUN", help="only these runs (default: all)")
    store_args(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    p.add_argument("--token", help="require this token (generated when --host is not "
                   "loopback and none is given)")
    p.set_defaults(func=cmd_dashboard)


def cmd_dashboard(args) -> int:
    """`adrs dashboard`: serve the dashboard until Ctrl-C."""
    try:
        import uvicorn

        from adrs.dashboard.app import make_app
    except ImportError as exc:
        raise UserError(f"the dashboard needs {exc.name}: pip install 'adrs[dashboard]'") \
            from None
    from adrs.dashboard.catalog import Catalog

    token = args.token
    if args.host not in LOOPBACK:
        token = token or secrets.token_urlsafe(18)
        print(f"adrs: warning: listening on {args.host}: anyone who can reach port "
              f"{args.port} and has the token can read every program, prompt and reply in "
              "these runs", file=sys.stderr)
    app = make_app(Catalog(args.archive, args.db, tuple(args.runs)), token)
    shown = "localhost" if args.host in LOOPBACK else args.host
    print(f"adrs dashboard at http://{shown}:{args.port}/"
          + (f"?token={token}" if token else "") + " (Ctrl-C to stop)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
