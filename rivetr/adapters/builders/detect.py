"""Which builder a checkout needs, and why: an explicit `build.type`, else a Dockerfile, else the
language detection of Railpack (and, for reporting, Nixpacks) as DETECTION_RULES.md tables it.

Detection only reads the file tree; it never runs anything.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

from rivetr.adapters.builders.base import BuildPlanError as BuildPlanError
from rivetr.domain.settings import BuildSettings

Which = Callable[[str], str | None]

# The CLI each external builder runs, in the order `auto` prefers them.
TOOLS = {"railpack": "railpack", "nixpacks": "nixpacks", "buildpacks": "pack"}

_PYTHON_MAIN = ("main.py", "app.py", "start.py", "bot.py", "hello.py", "server.py")
_STATIC_ROOT = re.compile(r"^root\s*:\s*(.*?)\s*(?:\s#.*)?$")
_DENO_IMPORT = re.compile(r"""import .+ from ["'`]https://deno\.land/[^"'`]+\.(?:ts|js|tsx|jsx)""")


def contained(root: Path, relative: str) -> Path | None:
    """`root / relative` with symlinks resolved, or None when that lands outside `root`."""
    base = root.resolve()
    path = (base / relative).resolve()
    return path if path.is_relative_to(base) else None


def staticfile_root(app: Path) -> str | None:
    """The `root:` of the app's Staticfile (YAML; only that top-level key matters), if any."""
    try:
        text = (app / "Staticfile").read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if match := _STATIC_ROOT.match(line):
            value = match.group(1).strip("'\"")
            return value or None
    return None


def detect_language(source: Path) -> tuple[str, str] | None:
    """(Railpack provider, the file that decided) for `source`, or None.

    Railpack's `GetLanguageProviders()` order, first match wins. Upstream spells two names
    "Elixir" and "Dotnet" and compares them case-insensitively; they are lower-cased here.
    """
    for provider, check in _RAILPACK:
        if decided := check(source):
            return provider, decided
    return None


def detect_nixpacks_provider(source: Path) -> str | None:
    """The provider Nixpacks' `get_providers()` order picks for `source`, or None."""
    for provider, check in _NIXPACKS:
        if check(source):
            return provider
    return None


def detect_build_type(
    source: Path, settings: BuildSettings, *, which: Which = shutil.which
) -> tuple[str, str]:
    """(builder, reason) for the checkout at `source`; the reason is one line for the build log.

    Raises:
        BuildPlanError: nothing fits, or the language found needs a CLI that is not installed.
    """
    if settings.type != "auto":
        return settings.type, f"{settings.type} build: set by build.type"
    app = contained(source, settings.context)
    if app is None or not app.is_dir():
        raise BuildPlanError(
            f"build.context {settings.context!r} is not a directory inside the repository"
        )
    if _has_exact_file(app, "Dockerfile"):
        return "dockerfile", "Using detected Dockerfile"
    custom = contained(source, os.path.join(settings.context, settings.dockerfile))
    if settings.dockerfile != "Dockerfile" and custom is not None and custom.is_file():
        return "dockerfile", f"Using Dockerfile {settings.dockerfile} (build.dockerfile)"
    if settings.static_dir is not None:
        return "static", f"static site: {settings.static_dir}/ (build.static_dir)"
    found = detect_language(app)
    if found is None:
        raise BuildPlanError(
            f"no Dockerfile, no index.html and no recognised language files in {app}: "
            "add a Dockerfile or set build.type"
        )
    language, decided = found
    if language == "staticfile":
        return "static", _static_reason(app, decided)
    return _external(app, language, decided, which)


def _static_reason(app: Path, decided: str) -> str:
    if decided == "Staticfile":
        return f"static site: {staticfile_root(app)}/ (Staticfile root)"
    if (app / "public" / "index.html").is_file():  # the directory static.site_dir serves
        return "static site: the public/ directory"
    return "static site: index.html at the repository root"


def _external(app: Path, language: str, decided: str, which: Which) -> tuple[str, str]:
    # Railpack detected the language, so it can build it; Nixpacks only when its own rules
    # find a provider (it has none for shell or cpp); `pack` says so itself when it cannot.
    nixpacks = detect_nixpacks_provider(app)
    usable = [b for b in TOOLS if b != "nixpacks" or nixpacks is not None]
    looks = f"this repository looks like a {language} app ({decided})"
    for builder in usable:
        if which(TOOLS[builder]) is not None:
            seen = f"; Nixpacks sees {nixpacks}" if builder == "nixpacks" else ""
            return builder, f"{looks}: building it with {TOOLS[builder]}{seen}"
    if len(usable) == len(TOOLS):
        needs = "Railpack, Nixpacks or Cloud Native Buildpacks (`pack`)"
    else:
        needs = "Railpack or Cloud Native Buildpacks (`pack`) (Nixpacks has no provider for it)"
    raise BuildPlanError(
        f"{looks}; building it needs {needs}: install one of them, or add a Dockerfile"
    )


def _has_exact_file(folder: Path, name: str) -> bool:
    # A listing, not `exists()`: on a case-insensitive file system `dockerfile` must not count.
    try:
        return name in os.listdir(folder) and (folder / name).is_file()
    except OSError:
        return False


def _file(*names: str) -> Callable[[Path], str | None]:
    return lambda root: next((n for n in names if (root / n).is_file()), None)


def _entry(*names: str) -> Callable[[Path], str | None]:
    return lambda root: next((n for n in names if (root / n).exists()), None)


def _dir(*names: str) -> Callable[[Path], str | None]:
    return lambda root: next((n for n in names if (root / n).is_dir()), None)


def _glob(pattern: str) -> Callable[[Path], str | None]:
    return lambda root: next((p.name for p in sorted(root.glob(pattern)) if p.is_file()), None)


def _any(*checks: Callable[[Path], str | None]) -> Callable[[Path], str | None]:
    return lambda root: next((d for check in checks if (d := check(root))), None)


def _all(*checks: Callable[[Path], str | None]) -> Callable[[Path], str | None]:
    def every(root: Path) -> str | None:
        found = [check(root) for check in checks]
        return " + ".join(d for d in found if d) if all(found) else None

    return every


def _walk(root: Path, suffixes: tuple[str, ...]) -> Iterator[Path]:
    """Files under `root` ending in one of `suffixes` (a `**/*.ext` glob), skipping `.git`."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        yield from (Path(folder, f) for f in sorted(files) if f.endswith(suffixes))


def _tree(*suffixes: str) -> Callable[[Path], str | None]:
    return lambda root: next((str(p.relative_to(root)) for p in _walk(root, suffixes)), None)


def _railpack_static(root: Path) -> str | None:
    if staticfile_root(root) is not None:
        return "Staticfile"
    return _entry("public")(root) or _file("index.html")(root)


def _deno_import(root: Path) -> str | None:
    for path in _walk(root, (".ts", ".tsx", ".js", ".jsx")):
        try:
            if _DENO_IMPORT.search(path.read_text(errors="replace")):
                return str(path.relative_to(root))
        except OSError:
            continue
    return None


def _lunatic_runner(root: Path) -> str | None:
    try:
        text = (root / ".cargo" / "config.toml").read_text(errors="replace")
    except OSError:
        return None
    return ".cargo/config.toml" if re.search(r'runner\s*=\s*"lunatic"', text) else None


_POM = ("xml", "atom", "clj", "groovy", "rb", "scala", "yaml", "yml")

# DETECTION_RULES.md section 1: Railpack's provider order.
_RAILPACK: list[tuple[str, Callable[[Path], str | None]]] = [
    ("php", _file("index.php", "composer.json")),
    ("golang", _file("go.mod", "go.work", "main.go")),
    ("java", _entry(*(f"pom.{ext}" for ext in _POM), "gradlew")),
    ("rust", _file("Cargo.toml")),
    ("ruby", _file("Gemfile")),
    ("elixir", _file("mix.exs")),
    ("python", _file(*_PYTHON_MAIN, "requirements.txt", "pyproject.toml", "Pipfile")),
    ("deno", _file("deno.json", "deno.jsonc")),
    ("dotnet", _glob("*.csproj")),
    ("node", _file("package.json", "package.json5")),
    ("gleam", _file("gleam.toml")),
    ("cpp", _file("CMakeLists.txt", "meson.build")),
    ("staticfile", _railpack_static),
    ("shell", _file("start.sh")),
]

# DETECTION_RULES.md section 2: Nixpacks' provider order.
_NIXPACKS: list[tuple[str, Callable[[Path], str | None]]] = [
    ("crystal", _file("shard.yml")),
    ("c#", _glob("*.csproj")),
    ("dart", _file("pubspec.yaml")),
    ("elixir", _file("mix.exs")),
    ("deno", _any(_file("deno.json", "deno.jsonc"), _deno_import)),
    ("f#", _glob("*.fsproj")),
    ("clojure", _file("project.clj", "build.clj")),
    ("gleam", _all(_file("gleam.toml"), _file("manifest.toml"))),
    ("go", _file("main.go", "go.mod")),
    ("haskell", _all(_file("package.yaml"), _tree(".hs"))),
    ("scheme", _file("haunt.scm")),
    # upstream checks pom.atom, pom.clj and pom.groovy as directories; kept as written
    ("java", _any(_file("pom.xml"), _dir("pom.atom", "pom.clj", "pom.groovy"),
                  _file("pom.rb", "pom.scala", "pom.yaml", "pom.yml", "gradlew"))),
    ("lunatic", _all(_file("Cargo.toml"), _lunatic_runner)),
    ("scala", _file("build.sbt")),
    ("php", _file("composer.json", "index.php")),
    ("ruby", _file("Gemfile")),
    ("node", _file("package.json")),
    ("python", _file("main.py", "requirements.txt", "pyproject.toml", "Pipfile")),
    ("rust", _file("Cargo.toml")),
    ("swift", _file("Package.swift")),
    ("staticfile", _any(_file("Staticfile"), _dir("public", "index", "dist"), _file("index.html"))),
    ("zig", _tree(".zig")),
    ("cobol", _glob("*.cbl")),
]  # fmt: skip
