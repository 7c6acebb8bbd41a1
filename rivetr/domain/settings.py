"""Value types shared by application events and commands: build and health-check settings."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


def whole(body: str) -> str:
    """A pattern that `body` must match whole. msgspec searches with Python's `re`, where `$`
    also matches before a final newline ("web\\n" would pass `^web$`): the lookahead refuses
    that. Not `\\Z`: the pattern is also the OpenAPI schema's, read as an ECMA regex, which
    has no `\\Z` but agrees on `^`, `$` and lookaheads."""
    return rf"^(?:{body})$(?!\n)"


# White space as either dialect has it, for inside a character class: Python's `\s` also takes
# \x1c-\x1f and \x85, ECMA's also \ufeff. Said alone, `\s` would let the schema offer a value
# (a branch with \x1c in it) that the decoder then refuses.
SPACE = r"\s\x1c-\x1f\x85\ufeff"


# a DNS label: what an app's name (a container's, a host's) and a project's or an
# environment's slug (one day a network's) must be
DnsLabel = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"),
        description="lower-case letters, digits and inner hyphens; 1 to 63 characters",
    ),
]
AppName = DnsLabel
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
# Every whole number that reaches the log is bounded where it enters, events included: SQLite
# holds at most a signed 64-bit integer, and a number no read model can store must be refused
# on its way in (or, already in an older log, by the decoder, at that one event) rather than
# be met by every view that reads it.
Count = Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
PrNumber = Annotated[
    int, msgspec.Meta(ge=1, le=2**31 - 1, description="a pull or merge request's number")
]
StatusCode = Annotated[int, msgspec.Meta(ge=100, le=999)]  # as a server sent it: three digits
TotpStep = Annotated[int, msgspec.Meta(ge=0, le=2**40)]  # 30-second steps since 1970
Domain = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            r"(?=[^/]{1,253}(?:/|$))(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
            r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:/[A-Za-z0-9._~%!$&'()*+,;=:@-]+){0,32}"
        ),
        description=(
            "a lower-case host name, optionally starting with *., optionally followed by a"
            " path prefix (example.com/api) that routes only the paths under it"
        ),
    ),
]


def host_of(domain: str) -> str:
    """The host part of a domain: what DNS, certificates and SNI know it by."""
    return domain.partition("/")[0]


def path_of(domain: str) -> str:
    """The path prefix of a domain, '' when it takes every path of its host."""
    _, slash, path = domain.partition("/")
    return slash + path


# a commit id in lower-case hex: SHA-1 or SHA-256, or abbreviated (Bitbucket's pull requests
# name 12 digits)
CommitId = Annotated[str, msgspec.Meta(pattern=whole(r"[0-9a-f]{4,64}"))]
EnvName = Annotated[str, msgspec.Meta(pattern=whole(r"[A-Za-z_][A-Za-z0-9_]{0,255}"))]
Branch = Annotated[str, msgspec.Meta(pattern=whole(rf"[^{SPACE}~^:?*\[\\]{{1,255}}"))]
GitUrl = Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
# an access token for https git URLs: one line, no spaces
GitToken = Annotated[str, msgspec.Meta(pattern=whole(rf"[^{SPACE}]{{1,1024}}"))]
# an SSH private key for ssh git URLs, as `ssh-keygen` writes it (OpenSSH or PEM)
DeployKey = Annotated[
    str,
    msgspec.Meta(
        pattern=whole(
            rf"[{SPACE}]*-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+-----END [A-Z ]*PRIVATE KEY-----"
            rf"[{SPACE}]*"
        ),
        max_length=16384,
    ),
]
Seconds = Annotated[float, msgspec.Meta(gt=0, le=3600)]
HttpPath = Annotated[str, msgspec.Meta(pattern=whole(rf"/[^{SPACE}]*"), max_length=1024)]

BuildType = Literal["auto", "dockerfile", "static", "nixpacks", "railpack", "buildpacks"]


class BuildSettings(msgspec.Struct, frozen=True, kw_only=True):
    type: BuildType = "auto"
    context: str = "."
    dockerfile: str = "Dockerfile"
    target: str | None = None
    build_args: dict[EnvName, str] = msgspec.field(default_factory=dict)
    static_dir: str | None = None


class HealthCheck(msgspec.Struct, frozen=True, kw_only=True):
    path: HttpPath = "/"
    port: Port | None = None  # None: the app's own port
    expected_status: Annotated[int, msgspec.Meta(ge=100, le=599)] = 200
    interval_s: Seconds = 1.0
    timeout_s: Seconds = 5.0
    boot_deadline_s: Seconds = 30.0
    start_period_s: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0
    # the same 4xx (but 408 and 429) this many times in a row fails the check at once: the app
    # is up and refuses the request, and waiting will not change that
    give_up_after_4xx: Annotated[
        int,
        msgspec.Meta(
            ge=1,
            le=1000,
            description=(
                "the health check fails at once when the same 4xx answer (other than 408 and"
                " 429) comes back this many times in a row"
            ),
        ),
    ] = 3


class Resources(msgspec.Struct, frozen=True, kw_only=True):
    """What a release's container may use; the engine enforces it."""

    memory_mb: Annotated[int, msgspec.Meta(ge=16, le=1_048_576)] = 512
    cpus: Annotated[float, msgspec.Meta(gt=0, le=256)] = 1.0


# Events tolerate unknown fields (a newer writer may have added one); commands refuse them so a
# typo in a request is an error, not a silently ignored setting.
class BuildSettingsInput(BuildSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class HealthCheckInput(HealthCheck, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ResourcesInput(Resources, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


# a glob over repository paths: `*` within a directory, `**` across directories
WatchPath = Annotated[str, msgspec.Meta(pattern=whole(rf"[^{SPACE}]{{1,255}}"))]
