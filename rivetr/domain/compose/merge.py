"""The Compose Specification's merge rules, as `extends` (and an `include` of several files)
applies them: mappings merged key by key, lists appended, except `command`, `entrypoint` and
`healthcheck.test` (replaced), lists that are mappings (`environment`, `labels`...) merged by
key, and `ports`, `volumes`, `secrets`, `configs`, `expose`... kept unique by their key; `!reset`
drops what the base gave, `!override` replaces it. Places travel with the values they hold."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

from rivetr.domain.compose.nodes import OVERRIDE, RESET, Map, Seq, pairs

Path = tuple[str, ...]  # within a service
Key = Callable[[Any], str]

_REPLACED: Final = {("command",), ("entrypoint",), ("healthcheck", "test")}


def _by_name(item: Any) -> str:
    return str(item).partition("=")[0]


def _host(item: Any) -> str:
    text = str(item)
    return text.partition("=")[0] if "=" in text else text.partition(":")[0]


def _mount(default: str, field: str) -> Key:
    """A mount's key: its target in the long form; in the short form the part after the
    source (`src:dst:mode`), or the source when alone."""

    def key(item: Any) -> str:
        if isinstance(item, Map):
            target = item.get(field)
            return str(target) if target else f"{default}{item.get('source')}"
        parts = str(item).split(":")
        return parts[1] if len(parts) > 1 and default == "" else f"{default}{parts[0]}"

    return key


def _port(item: Any) -> str:
    if isinstance(item, Map):
        fields = ("host_ip", "published", "target", "protocol")
        return json.dumps([str(item.get(name, "")) for name in fields])
    return str(item)


def _exact(item: Any) -> str:
    return json.dumps(item, sort_keys=True, default=str)


# lists that are mappings (`KEY=VALUE`), and what a key without a value maps to
_PAIRS: Final[dict[Path, tuple[Key, Any]]] = {
    ("environment",): (_by_name, None),
    ("labels",): (_by_name, ""),
    ("annotations",): (_by_name, ""),
    ("sysctls",): (_by_name, ""),
    ("extra_hosts",): (_host, ""),
    ("build", "args"): (_by_name, None),
    ("build", "labels"): (_by_name, ""),
    ("build", "extra_hosts"): (_host, ""),
    ("deploy", "labels"): (_by_name, ""),
}
# lists whose items are unique by a key: a later item replaces the earlier one
_UNIQUE: Final[dict[Path, Key]] = {
    ("volumes",): _mount("", "target"),
    ("devices",): _mount("", "target"),
    ("secrets",): _mount("/run/secrets/", "target"),
    ("configs",): _mount("/", "target"),
    ("ports",): _port,
    ("expose",): str,
    **dict.fromkeys(
        [
            ("cap_add",),
            ("cap_drop",),
            ("device_cgroup_rules",),
            ("external_links",),
            ("security_opt",),
            ("links",),
            ("group_add",),
            ("profiles",),
            ("deploy", "placement", "constraints"),
            ("deploy", "placement", "preferences"),
            ("deploy", "resources", "reservations", "generic_resources"),
        ],
        _exact,
    ),
}


def _condition() -> Map:
    started = Map()
    started.put("condition", "service_started", None)
    return started


# a list of names or a mapping by name, and what a name of the list stands for
_NAMED: Final[dict[Path, Callable[[], Any]]] = {
    ("depends_on",): _condition,
    ("networks",): lambda: None,
}


def merge_service(base: Map, override: Map) -> Map:
    """`override` (a service) merged over `base` (the service it extends)."""
    return _merge_maps(base, override, ())


def merge_model(base: Map, override: Map) -> Map:
    """A whole compose file merged over another (`include` with several paths)."""
    merged = _merge_maps(base, override, None)
    services, extra = base.get("services"), override.get("services")
    if isinstance(services, Map) and isinstance(extra, Map):
        combined = Map()
        for name, service, at in [*services.entries(), *extra.entries()]:
            old = combined.get(name)
            if isinstance(old, Map) and isinstance(service, Map):
                service = merge_service(old, service)
            combined.put(name, service, at)
        merged.put("services", combined, override.at.get("services") or base.at.get("services"))
    return merged


def _merge_maps(base: Map, override: Map, path: Path | None) -> Map:
    """`path` None: a mapping outside any service, merged without the services' rules."""
    merged = Map()
    for key, value, at in base.entries():
        if base.marks.get(key) != RESET:
            merged.put(key, value, at)
    for key, value, at in override.entries():
        mark = override.marks.get(key)
        if mark == RESET:
            merged.drop(key)
        elif key in merged and mark != OVERRIDE and not key.startswith("x-"):
            inner = None if path is None else (*path, key)
            merged.put(key, _merge(merged[key], value, inner), at)
        else:
            merged.put(key, value, at)
    return merged


def _merge(base: Any, override: Any, path: Path | None) -> Any:
    if path is not None and path in _REPLACED:
        return override
    if path in _PAIRS:
        key, missing = _PAIRS[path]
        if isinstance(base, Seq) and isinstance(override, Seq):
            return _unique(base, override, key)
        base, override = _as_map(base, missing), _as_map(override, missing)
    elif path in _NAMED:
        if isinstance(base, Seq) and isinstance(override, Seq):
            return _unique(base, override, _exact)
        base, override = _named(base, _NAMED[path]), _named(override, _NAMED[path])
    elif path == ("build",):
        base, override = _context(base), _context(override)
    elif path == ("logging",) and _drivers_differ(base, override):
        return override
    if isinstance(base, Map) and isinstance(override, Map):
        return _merge_maps(base, override, path)
    if isinstance(base, Seq) and isinstance(override, Seq):
        if path in _UNIQUE:
            return _unique(base, override, _UNIQUE[path])
        return _unique(base, override, None)
    return override


def _unique(base: Seq, override: Seq, key: Key | None) -> Seq:
    """`override`'s items after `base`'s; with a `key`, one replaces an earlier item with the
    same key where it stands."""
    merged = Seq()
    index: dict[str, int] = {}
    for _, item, at in [*base.entries(), *override.entries()]:
        found = key(item) if key is not None else None
        if found is not None and found in index:
            merged[index[found]] = item
            merged.at[index[found]] = at
            continue
        if found is not None:
            index[found] = len(merged)
        merged.push(item, at)
    return merged


def _as_map(value: Any, missing: Any) -> Any:
    return pairs(value, missing=missing) if isinstance(value, Seq) else value


def _named(value: Any, default: Callable[[], Any]) -> Any:
    if not isinstance(value, Seq):
        return value
    mapping = Map()
    for _, name, at in value.entries():
        mapping.put(str(name), default(), at)
    return mapping


def _context(build: Any) -> Any:
    if not isinstance(build, str):
        return build
    mapping = Map()
    mapping.put("context", build, None)
    return mapping


def _drivers_differ(base: Any, override: Any) -> bool:
    if not (isinstance(base, Map) and isinstance(override, Map)):
        return False
    return "driver" in base and "driver" in override and base["driver"] != override["driver"]
