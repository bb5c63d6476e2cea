"""``serve``: the centre as an Open311 GeoReport v2 server over the same database (headless)."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from workstation.cli import common
from workstation.domain.lifecycle import Role
from workstation.i18n import tr
from workstation.serve.config import load_serve
from workstation.services.errors import ValidationError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the command of this area."""
    opts = [common.options()]
    p = sub.add_parser(
        "serve",
        help=tr("serve GeoReport v2 (Open311) over the database until stopped (Ctrl+C or SIGTERM)"),
        parents=opts,
    )
    p.add_argument("--config", metavar="FILE", help=tr("settings file (default: $WORKSTATION_INTAKE)"))
    p.add_argument("--host", metavar="ADDRESS", help=tr("address to listen on (default: the settings, else 127.0.0.1)"))
    p.add_argument("--port", type=int, metavar="PORT", help=tr("port to listen on (default: the settings, else 8311)"))
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=tr("server processes sharing the port (default: the settings, else 1)"),
    )
    p.set_defaults(handler=serve)


def _why(exc: Exception) -> str:
    """Why the server could not listen, in the reader's language."""
    import errno

    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return tr("the port is in use")
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        return tr("not allowed to use this port")
    if isinstance(exc, OSError) and exc.errno == errno.EADDRNOTAVAIL:
        return tr("this machine has no such address")
    return tr("the address or the port is not valid")


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGTERM or SIGINT; one log line per request on standard error."""
    from workstation.serve.run import Server, serve_forever  # waitress only when serving
    from workstation.serve.workers import Workers

    settings = load_serve(args.config, required=bool(args.config))
    if args.workers is not None and args.workers < 1:
        raise ValidationError(tr("--workers: a whole number of at least 1"), {"workers": str(args.workers)})
    changes = {k: v for k, v in (("host", args.host), ("port", args.port), ("workers", args.workers)) if v is not None}
    settings = dataclasses.replace(settings, **changes)
    if settings.workers > 1 and not hasattr(os, "fork"):
        raise ValidationError(tr("--workers above 1 needs a system that can fork processes (Linux, macOS)."))
    db = common.database(args)
    common.actor(db, args, [Role.ADMIN], tr("run the GeoReport server"))
    several = settings.workers > 1
    line = "%(asctime)s %(name)s [%(process)d] %(message)s" if several else "%(asctime)s %(name)s %(message)s"
    logging.basicConfig(level=logging.INFO, format=line, stream=sys.stderr)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    try:
        server: Server | Workers = Workers(db, settings, settings.workers) if several else Server(db, settings)
    except (OSError, ValueError) as exc:  # a bad address, a port in use or not ours to take
        raise ValidationError(
            tr(
                "Cannot listen on {host}:{port}: {reason}. Choose another --host or --port (or the settings "
                "file's serve.host and serve.port), or stop the program that uses the port.",
                host=settings.host,
                port=settings.port,
                reason=_why(exc),
            ),
            {"port": str(settings.port)},
        ) from None

    def ready(s: Server | Workers) -> None:
        print(
            tr("Serving GeoReport v2 on http://{host}:{port}/ (Ctrl+C or SIGTERM stops it)", host=s.host, port=s.port),
            flush=True,
        )

    if isinstance(server, Workers):
        server.run(ready)
    else:
        serve_forever(server, ready)
    print(tr("The server stopped."), flush=True)
    return 0
