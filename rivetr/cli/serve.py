"""`rivetr serve`: the service itself, the API and the dashboard on one address."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from rivetr import __version__
from rivetr.cli.shared import overrides
from rivetr.config import Settings

log = logging.getLogger("rivetr")


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    serve = sub.add_parser("serve", parents=[common], help="run the service (API and dashboard)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8080)")
    serve.set_defaults(run=_serve)


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from functools import partial

    from rivetr.bootstrap import Services
    from rivetr.config import origins
    from rivetr.web.app import create_app
    from rivetr.web.server import serve

    # where each setting came from, for the settings page (and which ones the log may change)
    found = origins(Path(args.config) if args.config else None, overrides=overrides(args))

    log.info(
        "rivetr %s on http://%s:%d, data in %s",
        __version__,
        settings.host,
        settings.port,
        settings.data_path.resolve(),
    )
    serve(
        create_app(settings, open_services=partial(Services.open, origins=found)),
        settings.host,
        settings.port,
        settings.log_level,
        settings.trusted_proxies,
        settings.shutdown_grace_s,
    )
    return 0
