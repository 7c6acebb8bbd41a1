"""`rivetr install`: this machine set up to run Rivetr as a system service (see
rivetr/install); re-run it after installing new code to upgrade in place."""

from __future__ import annotations

import argparse
import os
import sys
import zipfile
from pathlib import Path

from rivetr.config import ConfigError, Settings, load_settings

DATA_DIR = Path("/var/lib/rivetr")
UNIT_PATH = Path("/etc/systemd/system/rivetr.service")


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    install = sub.add_parser(
        "install",
        help="install this Rivetr as a systemd service (engine, user, data directory, unit)",
    )
    install.add_argument(
        "--data-dir", default=str(DATA_DIR), help=f"the service's data directory ({DATA_DIR})"
    )
    install.add_argument("--config", help=argparse.SUPPRESS)  # read by `main`; the unit's is used
    install.add_argument("--user", default="rivetr", help="the system user it runs as (rivetr)")
    install.add_argument(
        "--unit-path", default=str(UNIT_PATH), help=f"where the unit file goes ({UNIT_PATH})"
    )
    install.set_defaults(run=_install)


def _install(_: Settings, args: argparse.Namespace) -> int:
    from rivetr.install.host import SystemHost
    from rivetr.install.installer import Installer, InstallPlan
    from rivetr.install.unit import InstallError, UnitSettings, exec_start_here

    if os.geteuid() != 0:
        print("rivetr install: run it as root (it adds a user and a service)", file=sys.stderr)
        return 1
    if zipfile.is_zipfile(sys.argv[0]):
        print(
            "rivetr install: installs the code it runs from a venv; the single-file build runs "
            "in place (`python3 rivetr.pyz serve`): install from a checkout with ./install.sh",
            file=sys.stderr,
        )
        return 1
    try:
        unit = UnitSettings(args.user, Path(args.data_dir), exec_start_here())
        plan = InstallPlan(unit, Path(args.unit_path), health_url(service_settings(unit.data_dir)))
        code = Installer(SystemHost(), plan, print).install()
    except (InstallError, ConfigError) as exc:
        print(f"rivetr install: {exc}", file=sys.stderr)
        return 1
    if code is not None:
        print(f"setup code: {code}  (give it at /setup on the dashboard, with your e-mail address)")
    return 0


def service_settings(data_dir: Path) -> Settings:
    """The settings the service will run with: the unit's environment names only the data
    directory, whose rivetr.toml (if any) is read."""
    in_data = data_dir / "rivetr.toml"
    return load_settings(
        in_data if in_data.is_file() else None,
        environ={"RIVETR_DATA": str(data_dir)},
    )


def health_url(settings: Settings) -> str:
    """Where the service's health answers, from this machine."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(settings.host, settings.host)
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}/api/v1/health"
