"""`rivetr images import-busybox`: the busybox base image, made from the host's own busybox and
imported into the container engine (never pulled)."""

from __future__ import annotations

import argparse
import sys

from rivetr.cli.shared import connect_engine, run_async
from rivetr.config import Settings


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    images = sub.add_parser("images", help="base images").add_subparsers(metavar="ACTION")
    busybox = images.add_parser(
        "import-busybox", parents=[common], help="make the local busybox base image"
    )
    busybox.add_argument("--tag", default=None, help="image name (default rivetr/busybox:latest)")
    busybox.set_defaults(run=run_async(_import_busybox))


async def _import_busybox(settings: Settings, args: argparse.Namespace) -> int:
    from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE, ensure_busybox_image

    runtime = await connect_engine(settings)
    if runtime is None:
        return 1
    try:
        image_id = await ensure_busybox_image(runtime, args.tag or BUSYBOX_IMAGE)
    except FileNotFoundError as exc:
        print(f"rivetr: {exc}", file=sys.stderr)
        return 1
    finally:
        await runtime.close()
    print(f"{args.tag or BUSYBOX_IMAGE} {image_id}")
    return 0
