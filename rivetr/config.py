"""Settings: defaults, then rivetr.toml, then RIVETR_* environment variables, then command-line
flags. A bad value stops start-up with one line naming the key and where it came from."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from rivetr.domain.instance import PublicUrl
from rivetr.domain.settings import whole

# host:port, the host a name, an IPv4 address or an IPv6 one in brackets
_HOST_PORT = r"(?:\[[0-9A-Fa-f:.]+\]|[^\s:\[\]/]+):\d{1,5}"


class ConfigError(Exception):
    """One line a user can act on, naming the key and its source."""


class Settings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    data_dir: str = "./rivetr-data"
    host: str = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 8080
    engine: Literal["auto", "docker", "podman", "none"] = "auto"
    engine_url: str | None = None
    # where git hosts and browsers reach this Rivetr (https://deploy.example.com): the webhook
    # URLs it hands out are built on it; unset, on the address the request came to
    # (it may be changed from the dashboard too: rivetr/domain/instance.py)
    public_url: PublicUrl | None = None
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # how often a waiting subscriber looks for appends made by another process (the CLI)
    poll_interval_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 2.0
    # longest wait between two attempts to reach an unavailable container engine
    engine_retry_max_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 60.0
    # how long a superseded release keeps running for in-flight requests before it is retired
    drain_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0
    # how many deployments of each app keep their build and runtime log
    logs_kept: Annotated[int, msgspec.Meta(ge=1, le=10000)] = 20
    # how many of each app's newest released images are kept for rollback (older ones pruned)
    images_kept: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 5
    # the key sealing env values and git credentials (base64, 64 bytes); default: secrets.key
    secret_key: Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z0-9+/]{86}=="))] | None = None
    # the built-in reverse proxy: routes each app's domains to its live release
    proxy_enabled: bool = True
    proxy_host: str = "0.0.0.0"
    proxy_http_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 80
    proxy_https_port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 443
    # how long a client may take to send a request head: from the accept (TLS handshake
    # included), or from the first byte of a later request on a kept-alive connection
    proxy_header_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 15.0
    # how long a kept-alive connection may sit without a request, a request body go without
    # its next piece, or an answer go unread, before the proxy closes the connection
    proxy_idle_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 60.0
    # client connections the proxy holds open, in all and per address (IPv6: per /64)
    proxy_max_connections: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10_000
    proxy_max_connections_per_ip: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 256
    # addresses or networks (CIDR) of proxies in front of the API and dashboard whose
    # X-Forwarded-For and X-Forwarded-Proto are believed; nobody's by default, not even loopback
    trusted_proxies: list[str] = []
    # where certificates are ordered (ACME); Let's Encrypt's staging directory for trials
    acme_directory_url: str = "https://acme-v02.api.letsencrypt.org/directory"
    acme_email: str | None = None
    acme_ca_bundle: str | None = None  # a CA file to trust the ACME server with (a test CA)
    # order and renew certificates for every app domain by itself (with the proxy running)
    acme_auto: bool = True
    # also order for names no public CA certifies (.test, .local, .internal, localhost, bare
    # addresses): for a private ACME CA (a test's Pebble, an internal step-ca)
    acme_any_name: bool = False
    # after a failure, rehearse on this directory (Let's Encrypt's staging) before trying the
    # real one again, so that retries do not spend the real CA's rate limits
    acme_staging_directory_url: str | None = None
    # how often the CPU and memory of each app's live container are read (0: never)
    resources_interval_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 15.0
    # how often an idle server-sent event stream gets a keep-alive comment
    sse_heartbeat_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 15.0
    # directories whose repositories apps may name by path (a path must resolve inside one);
    # empty: no local paths at all
    git_local_dirs: list[Annotated[str, msgspec.Meta(min_length=1)]] = msgspec.field(
        default_factory=list
    )
    # fetch from loopback, private and other non-public addresses, and over plain http://
    git_allow_private: bool = False
    # send notices to mail servers, Mattermost, ntfy, Gotify and webhooks on loopback, private
    # and other non-public addresses (a team's channels choose their hosts)
    notify_allow_private: bool = False
    # images managed databases run instead of the ones named (a private mirror: the official
    # `postgres:16-alpine` -> `registry.internal/postgres:16-alpine`); in an environment
    # variable, `from=to` pairs separated by commas
    database_images: dict[str, str] = msgspec.field(default_factory=dict)
    # where the `local` backup targets of every team keep their backups (each team a folder
    # of its own); default: <data dir>/backups
    backups_dir: str | None = None
    # how long a database server may take to pass its health check after a start
    database_health_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 180.0
    # how long a backup's throwaway copy may take to come up healthy with it restored
    backup_verify_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 600.0
    # --- metrics and host alerts (README "Metrics and alerts") ---
    # the bearer token Prometheus sends for GET /metrics on the API's address; unset (and no
    # metrics_listen), /metrics answers 404
    metrics_token: Annotated[str, msgspec.Meta(pattern=whole(r"[!-~]{16,256}"))] | None = None
    # an address of its own serving /metrics with no token (host:port, [v6]:port), for a
    # loopback or private interface that only the scraper reaches
    metrics_listen: Annotated[str, msgspec.Meta(pattern=whole(_HOST_PORT))] | None = None
    # how often the host's CPU, memory and disk are read for the thresholds below (0: never)
    host_sample_interval_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 30.0
    # the thresholds (percent used) whose crossing is recorded as host.threshold_crossed, and
    # whose recovery (back below threshold - host_margin_percent) as host.threshold_recovered;
    # unset: not watched
    host_disk_percent: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    host_memory_percent: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    host_cpu_percent: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    # the span each value is averaged over, so that a spike does not raise an alert
    host_window_s: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 300.0
    # how far below its threshold a value must fall to count as recovered
    host_margin_percent: Annotated[float, msgspec.Meta(ge=0, le=50)] = 5.0
    # on SIGTERM, how long requests in flight may take to finish before they are cancelled (event
    # and log streams end at once; the clients resume against the next process)
    shutdown_grace_s: Annotated[int, msgspec.Meta(ge=0, le=600)] = 10
    # room kept in the data directory (storage.reserve) and given back when the disk fills, so
    # that the full disk can still be recorded and told; 0: none kept
    storage_reserve_kib: Annotated[int, msgspec.Meta(ge=0, le=1024 * 1024)] = 1024
    # how often the storage watch looks whether the log takes writes again
    storage_check_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    # how often the swarm's nodes are looked at (only while there is a swarm)
    swarm_check_interval_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    # where the images of apps on servers are pushed for every server to pull them
    # (`registry.example.com/team`, `10.0.0.1:5000`); unset, such an app runs on the manager
    # alone, and a deploy to several servers is refused saying to set it
    swarm_registry: (
        Annotated[
            str,
            msgspec.Meta(
                pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})(?::[0-9]{1,5})?(?:/[a-z0-9._-]+)*$"
            ),
        ]
        | None
    ) = None
    # the image of the registry Rivetr runs on a swarm's manager when asked
    # (`rivetr servers registry --run`): the distribution registry, laid out as `registry:2`
    # is (configuration at /etc/docker/registry/config.yml, a shell); every node runs it too,
    # to hold the registry's certificates
    hosted_registry_image: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] = "registry:2"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def backups_path(self) -> Path:
        return Path(self.backups_dir) if self.backups_dir else self.data_path / "backups"

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """metrics_listen as (host, port), an IPv6 host without its brackets."""
        if self.metrics_listen is None:
            return None
        host, _, port = self.metrics_listen.rpartition(":")
        return host.strip("[]"), int(port)


_FIELDS = set(Settings.__struct_fields__)
SECRET_KEYS = frozenset({"secret_key", "metrics_token"})  # never echoed back in an error, nor shown
# what a value refused by its pattern should have been, said instead of the pattern
_SHAPES = {
    "secret_key": "not a base64 64-byte key",
    "metrics_token": "not 16 to 256 printable characters without spaces",
    "metrics_listen": "not host:port (127.0.0.1:9464, [::1]:9464)",
}
_LIST_KEYS = {"trusted_proxies"}  # comma-separated in an environment variable
# environment variables with a name of their own
_ENV_ALIASES = {"RIVETR_DATA": "data_dir"}
# lists given in one environment variable, separated like PATH
_PATH_LISTS = {"git_local_dirs"}
# mappings given in one environment variable as `from=to` pairs separated by commas
_MAP_KEYS = {"database_images"}


def load_settings(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge every source into Settings.

    The file is `config_file`, else $RIVETR_CONFIG, else ./rivetr.toml, else
    <data dir>/rivetr.toml when it exists.

    Raises:
        ConfigError: naming the first bad key and its source.
    """
    values, sources = _gather(config_file, environ, overrides)
    try:
        settings = msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        match = re.search(r"at `\$\.(\w+)`", message)
        key = match.group(1) if match else "?"
        reason = re.sub(r" - at `\$[^`]*`", "", message)
        reason = _SHAPES[key] if key in _SHAPES and "regex" in reason else reason
        raise _bad_value(key, reason, values, sources) from None
    if settings.metrics_address is not None and not 1 <= settings.metrics_address[1] <= 65535:
        raise _bad_value("metrics_listen", "the port must be 1 to 65535", values, sources)
    for entry in settings.trusted_proxies:
        try:
            ipaddress.ip_network(entry)  # strict, as uvicorn reads it: 10.0.0.1/8 is refused
        except ValueError as exc:
            raise _bad_value("trusted_proxies", str(exc), values, sources) from None
    return settings


def source_of(
    key: str,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> str | None:
    """Where load_settings takes `key` from ("command line", "environment variable RIVETR_DATA",
    a config file's path), or None for the default.

    Raises:
        ConfigError: the config file cannot be read.
    """
    return _gather(config_file, environ, overrides)[1].get(key)


def origins(
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Where load_settings takes each key not left at its default from (as `source_of`).

    Raises:
        ConfigError: the config file cannot be read.
    """
    return _gather(config_file, environ, overrides)[1]


def _gather(
    config_file: Path | None,
    environ: Mapping[str, str] | None,
    overrides: Mapping[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Every source's raw values, later ones winning, and where each value came from."""
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}

    from_env: dict[str, tuple[str, str]] = {}
    for name, raw in environ.items():
        key = _ENV_ALIASES.get(name) or (name[7:].lower() if name.startswith("RIVETR_") else None)
        if key in _FIELDS:
            from_env[key] = (name, raw)

    path = config_file or _find_config_file(environ, overrides, from_env)
    if path is not None:
        for key, value in _read_toml(path).items():
            if key not in _FIELDS:
                raise ConfigError(
                    f"{path}: unknown key {key!r} (known: {', '.join(sorted(_FIELDS))})"
                )
            values[key], sources[key] = value, f"{path}"
    for key, (name, raw) in from_env.items():
        given: Any = raw
        if key in _LIST_KEYS:
            given = [part.strip() for part in raw.split(",") if part.strip()]
        elif key in _PATH_LISTS:
            given = [part for part in raw.split(os.pathsep) if part]
        elif key in _MAP_KEYS:
            pairs = [part.strip().partition("=") for part in raw.split(",") if part.strip()]
            given = {name.strip(): to.strip() for name, _, to in pairs}
        values[key], sources[key] = given, f"environment variable {name}"
    for key, value in overrides.items():
        values[key], sources[key] = value, "command line"
    return values, sources


def _bad_value(
    key: str, reason: str, values: Mapping[str, Any], sources: Mapping[str, str]
) -> ConfigError:
    given = f" {values[key]!r}" if key in values and key not in SECRET_KEYS else ""
    return ConfigError(
        f"bad config value{given} for {key!r} (from {sources.get(key, 'defaults')}): {reason}"
    )


def _find_config_file(
    environ: Mapping[str, str], overrides: Mapping[str, Any], from_env: dict[str, tuple[str, str]]
) -> Path | None:
    if "RIVETR_CONFIG" in environ:
        return Path(environ["RIVETR_CONFIG"])
    local = Path("rivetr.toml")
    if local.is_file():
        return local
    data_dir = overrides.get("data_dir") or from_env.get("data_dir", ("", ""))[1]
    in_data = Path(data_dir or Settings().data_dir) / "rivetr.toml"
    return in_data if in_data.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
