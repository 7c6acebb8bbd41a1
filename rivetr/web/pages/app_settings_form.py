"""The app's settings as one HTML form: its fields (shared by the home page's create form and
the settings page), read into a CreateApp, or into a ChangeAppSettings carrying only what
differs from the app as it is; and the values the form shows (never a secret)."""

from __future__ import annotations

import re
from typing import Any

import msgspec

from rivetr.domain.commands import ChangeAppSettings, CreateApp
from rivetr.domain.errors import InvalidCommand
from rivetr.domain.settings import BuildSettings, HealthCheck, Resources
from rivetr.projections.apps import AppView
from rivetr.web.pages.credential_form import CREDENTIALS, typed_credentials
from rivetr.web.pages.env_text import parse_env

SECRET_FIELDS = (*CREDENTIALS, "build_args", "env")  # never shown back
_LIST = re.compile(r"[\s,]+")


class AppSettingsForm(msgspec.Struct, kw_only=True):
    """Every input of the form, as typed. A checkbox left off is absent, hence ""."""

    csrf_token: str = ""
    name: str = ""
    team: str = ""
    project: str = ""  # where a new app lives: empty, the team's default project...
    environment: str = ""  # ...and production
    git_url: str = ""
    branch: str = ""
    build_type: str = ""
    build_context: str = ""
    build_dockerfile: str = ""
    build_target: str = ""
    build_static_dir: str = ""
    build_args: str = ""  # NAME=value lines; write-only
    build_args_remove: str = ""
    port: str = ""
    domains: str = ""  # comma-, space- or line-separated
    health_path: str = ""
    health_port: str = ""
    health_expected_status: str = ""
    health_interval_s: str = ""
    health_timeout_s: str = ""
    health_boot_deadline_s: str = ""
    health_start_period_s: str = ""
    health_give_up_after_4xx: str = ""
    resources_memory_mb: str = ""
    resources_cpus: str = ""
    watch_paths: str = ""
    previews: str = ""
    previews_from_forks: str = ""
    env: str = ""  # a .env file's lines, at creation only; write-only
    git_token: str = ""
    git_token_remove: str = ""
    deploy_key: str = ""
    deploy_key_remove: str = ""


def create_command(form: AppSettingsForm) -> CreateApp:
    """The CreateApp the form asks for: a field left empty takes the command's default."""
    fields: dict[str, Any] = {"name": form.name.strip(), **_settings(form)}
    for where in ("team", "project", "environment"):
        if (value := getattr(form, where).strip()) != "":
            fields[where] = value
    if form.build_args.strip():
        fields["build"]["build_args"] = parse_env(form.build_args, "build_args")
    if form.env.strip():
        fields["env"] = parse_env(form.env, "env")
    fields.update(typed_credentials(form))
    return msgspec.convert(fields, CreateApp)


def change_command(app: AppView, form: AppSettingsForm) -> ChangeAppSettings:
    """The ChangeAppSettings for what the form changes of `app`, and nothing else (the API's
    PATCH is partial: a field sent is a field set, even to the value it had)."""
    wanted = _settings(form)
    now = current(app)
    changes = {k: v for k, v in wanted.items() if k != "build" and v != now[k]}
    build = _build_change(app, form, wanted["build"], now["build"])
    if build is not None:
        changes["build"] = build
    changes.update(typed_credentials(form))
    return msgspec.convert({"name": app.name, **changes}, ChangeAppSettings)


def _build_change(
    app: AppView, form: AppSettingsForm, wanted: dict[str, Any], now: dict[str, Any]
) -> dict[str, Any] | None:
    """The build settings to send, or None when they stay. The app's build args are write-only
    and a build change replaces them all: they must be given again, or removed."""
    if form.build_args_remove:
        return {**wanted, "build_args": {}} if (app.build_args or wanted != now) else None
    if form.build_args.strip():
        return {**wanted, "build_args": parse_env(form.build_args, "build_args")}
    if wanted == now:
        return None
    if app.build_args:
        raise InvalidCommand(
            f"the build args ({', '.join(app.build_args)}) are write-only and a build change"
            " replaces them: give them again here, or tick 'remove every build arg'",
            field="build_args",
        )
    return wanted


def current(app: AppView) -> dict[str, Any]:
    """The app's settings in the shape `_settings` reads a form into."""
    build = msgspec.to_builtins(app.build)
    build.pop("build_args", None)
    return {
        "git_url": app.git_url,
        "branch": app.branch,
        "build": build,
        "port": app.port,
        "domains": list(app.domains),
        "health": msgspec.to_builtins(app.health),
        "resources": msgspec.to_builtins(app.resources),
        "watch_paths": list(app.watch_paths),
        "previews": app.previews,
        "previews_from_forks": app.previews_from_forks,
    }


def _settings(form: AppSettingsForm) -> dict[str, Any]:
    """Every setting but the name, the team and the secrets, defaults for what is left empty."""
    build, health, resources = BuildSettings(), HealthCheck(), Resources()
    return {
        "git_url": form.git_url.strip() or None,
        "branch": form.branch.strip() or "main",
        "build": {
            "type": form.build_type.strip() or build.type,
            "context": form.build_context.strip() or build.context,
            "dockerfile": form.build_dockerfile.strip() or build.dockerfile,
            "target": form.build_target.strip() or None,
            "static_dir": form.build_static_dir.strip() or None,
        },
        "port": _number(form.port, "port", int, 8080),
        "domains": _listed(form.domains),
        "health": {
            "path": form.health_path.strip() or health.path,
            "port": _number(form.health_port, "health_port", int, None),
            "expected_status": _number(
                form.health_expected_status, "health_expected_status", int, health.expected_status
            ),
            "interval_s": _number(
                form.health_interval_s, "health_interval_s", float, health.interval_s
            ),
            "timeout_s": _number(
                form.health_timeout_s, "health_timeout_s", float, health.timeout_s
            ),
            "boot_deadline_s": _number(
                form.health_boot_deadline_s, "health_boot_deadline_s", float, health.boot_deadline_s
            ),
            "start_period_s": _number(
                form.health_start_period_s, "health_start_period_s", float, health.start_period_s
            ),
            "give_up_after_4xx": _number(
                form.health_give_up_after_4xx,
                "health_give_up_after_4xx",
                int,
                health.give_up_after_4xx,
            ),
        },
        "resources": {
            "memory_mb": _number(
                form.resources_memory_mb, "resources_memory_mb", int, resources.memory_mb
            ),
            "cpus": _number(form.resources_cpus, "resources_cpus", float, resources.cpus),
        },
        "watch_paths": _listed(form.watch_paths),
        "previews": bool(form.previews),
        "previews_from_forks": bool(form.previews_from_forks),
    }


def _number(text: str, field: str, kind: type[int] | type[float], default: Any) -> Any:
    text = text.strip()
    if text == "":
        return default
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise InvalidCommand(f"{text!r} is not {what}", field=field) from None


def _listed(text: str) -> list[str]:
    return [item for item in _LIST.split(text) if item]


def shown(app: AppView | None, form: AppSettingsForm | None = None) -> dict[str, str]:
    """The values the form's inputs show: as typed when it was refused, else the app's own
    (empty for a new app: placeholders give the defaults). Secrets are never shown back."""
    if form is not None:
        typed = msgspec.structs.asdict(form)
        return {k: str(v) for k, v in typed.items() if k not in SECRET_FIELDS}
    if app is None:
        return {}
    now = current(app)
    values: dict[str, str] = {
        "name": app.name,
        "team": app.team,
        "git_url": app.git_url or "",
        "branch": app.branch,
        "port": str(app.port),
        "domains": ", ".join(app.domains),
        "watch_paths": " ".join(app.watch_paths),
        "previews": "on" if app.previews else "",
        "previews_from_forks": "on" if app.previews_from_forks else "",
    }
    for group in ("build", "health", "resources"):
        for key, value in now[group].items():
            values[f"{group}_{key}"] = "" if value is None else _plain(value)
    return values


def _plain(value: Any) -> str:
    """A number as a person writes it: 30 rather than 30.0."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
