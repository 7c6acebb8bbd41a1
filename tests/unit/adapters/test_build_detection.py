"""Build-type detection against the shared layout vectors and DETECTION_RULES.md, plus the path
rules of the Dockerfile and static builders and the external CLIs' command lines."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from rivetr.adapters.builders.build import build_image
from rivetr.adapters.builders.detect import (
    BuildPlanError,
    detect_build_type,
    detect_language,
    detect_nixpacks_provider,
)
from rivetr.adapters.builders.dockerfile import dockerfile_paths
from rivetr.adapters.builders.external import build_with_cli, cli_command
from rivetr.adapters.builders.static import site_dir, static_dockerfile
from rivetr.adapters.runtime.base import BuildFailed
from rivetr.adapters.runtime.baseimage import BUSYBOX_IMAGE
from rivetr.adapters.runtime.fake import FakeRuntime
from rivetr.domain.settings import BuildSettings

AUTO = BuildSettings()
_DEFAULT_VECTORS = Path(__file__).resolve().parents[4] / "shared" / "vectors"
_LAYOUTS = Path(os.environ.get("RIVETR_VECTORS", _DEFAULT_VECTORS)) / "Dockerfiles" / "layouts"
LAYOUT_NAMES = sorted(p.name for p in _LAYOUTS.iterdir()) if _LAYOUTS.is_dir() else []
# one skipped case naming the missing folder, rather than pytest's "empty parameter set"
_LAYOUT_CASES = LAYOUT_NAMES or [
    pytest.param(
        "none",
        marks=pytest.mark.skip(
            reason=f"shared test vectors not found at {_LAYOUTS.parent.parent} (set RIVETR_VECTORS)"
        ),
    )
]
_EXPECTED = re.compile(r"^expected provider \((railpack|nixpacks)\): (.+)$", re.M)
_LISTED = re.compile(r"^\s+(\[copied\]\s+)?(\S+)\s+\(\d+\)$", re.M)


def nobody(_: str) -> None:
    return None


def installed(*tools: str) -> Callable[[str], str | None]:
    return lambda name: f"/usr/bin/{name}" if name in tools else None


def make(root: Path, *files: str) -> Path:
    for name in files:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return root


def layout_copy(layout: Path, dest: Path) -> tuple[Path, dict[str, str | None]]:
    """The layout with empty placeholders for the files it lists but did not copy, and its
    expected providers (None where LAYOUT.txt says there is none)."""
    text = (layout / "LAYOUT.txt").read_text()
    shutil.copytree(layout, dest, ignore=shutil.ignore_patterns("LAYOUT.txt"))
    make(dest, *(name for copied, name in _LISTED.findall(text) if not copied))
    expected = {
        builder: None if value.startswith("(none") else value.strip()
        for builder, value in _EXPECTED.findall(text)
    }
    return dest, expected


def test_every_shared_layout_is_checked(vectors_dir: Path) -> None:
    on_disk = sorted(p.name for p in (vectors_dir / "Dockerfiles" / "layouts").iterdir())
    assert on_disk == LAYOUT_NAMES
    assert len(on_disk) >= 12


@pytest.mark.parametrize("name", _LAYOUT_CASES)
def test_layout_is_detected_as_its_layout_txt_expects(
    vectors_dir: Path, tmp_path: Path, name: str
) -> None:
    app, expected = layout_copy(vectors_dir / "Dockerfiles" / "layouts" / name, tmp_path / name)
    assert set(expected) == {"railpack", "nixpacks"}

    railpack = detect_language(app)
    assert (railpack[0] if railpack else None) == expected["railpack"]
    assert detect_nixpacks_provider(app) == expected["nixpacks"]


@pytest.mark.parametrize(
    ("files", "railpack", "nixpacks"),
    [
        (["package.json", "requirements.txt"], "python", "node"),
        (["package.json", "index.html"], "node", "node"),
        (["Gemfile", "package.json"], "ruby", "ruby"),
        (["composer.json", "package.json"], "php", "php"),
        (["dist/app.js"], None, "staticfile"),
        (["start.sh"], "shell", None),
        (["main.go"], "golang", "go"),
        (["Cargo.toml", ".cargo/config.toml"], "rust", "lunatic"),
        (["app.py"], "python", None),
        (["App.csproj"], "dotnet", "c#"),
        (["mix.exs"], "elixir", "elixir"),
        (["pom.clj"], "java", None),  # Nixpacks checks pom.clj as a directory
        (["gleam.toml"], "gleam", None),  # Nixpacks also wants manifest.toml
        (["package.yaml", "src/Main.hs"], None, "haskell"),
        (["src/deep/build.zig"], None, "zig"),
        (["CMakeLists.txt"], "cpp", None),
    ],
)
def test_detection_rules_consequences(
    tmp_path: Path, files: list[str], railpack: str | None, nixpacks: str | None
) -> None:
    make(tmp_path, *files)
    if (tmp_path / ".cargo" / "config.toml").exists():
        (tmp_path / ".cargo" / "config.toml").write_text(
            '[target.wasm32-wasi]\nrunner = "lunatic"\n'
        )

    found = detect_language(tmp_path)
    assert (found[0] if found else None) == railpack
    assert detect_nixpacks_provider(tmp_path) == nixpacks


def test_a_deno_land_import_makes_nixpacks_see_deno(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "server.ts").write_text(
        'import { serve } from "https://deno.land/std/http/server.ts";\n'
    )

    assert detect_nixpacks_provider(tmp_path) == "deno"
    assert detect_language(tmp_path) is None


def test_detect_language_names_the_file_that_decided(tmp_path: Path) -> None:
    make(tmp_path, "requirements.txt", "main.py", "package.json")

    assert detect_language(tmp_path) == ("python", "main.py")


def test_a_dockerfile_wins_over_every_other_file(tmp_path: Path) -> None:
    make(tmp_path, "Dockerfile", "package.json", "requirements.txt", "index.html", "Staticfile")

    assert detect_build_type(tmp_path, AUTO, which=nobody) == (
        "dockerfile",
        "Using detected Dockerfile",
    )


def test_only_a_dockerfile_named_exactly_so_counts(tmp_path: Path) -> None:
    make(tmp_path, "dockerfile", "index.html")

    assert detect_build_type(tmp_path, AUTO, which=nobody)[0] == "static"


def test_a_configured_dockerfile_path_is_used_when_it_exists(tmp_path: Path) -> None:
    make(tmp_path, "app/docker/Dockerfile.prod", "app/package.json")
    settings = BuildSettings(context="app", dockerfile="docker/Dockerfile.prod")

    builder, reason = detect_build_type(tmp_path, settings, which=nobody)

    assert builder == "dockerfile"
    assert "docker/Dockerfile.prod" in reason
    make(tmp_path, "Dockerfile.app")
    beside = BuildSettings(context="app", dockerfile="../Dockerfile.app")
    assert detect_build_type(tmp_path, beside, which=nobody)[0] == "dockerfile"
    repo = make(tmp_path / "repo", "app/package.json")
    escaping = BuildSettings(context="app", dockerfile="../../Dockerfile.app")
    with pytest.raises(BuildPlanError, match="node app"):  # the file outside is not looked at
        detect_build_type(repo, escaping, which=nobody)


def test_an_explicit_build_type_wins(tmp_path: Path) -> None:
    make(tmp_path, "Dockerfile", "package.json")

    builder, reason = detect_build_type(tmp_path, BuildSettings(type="static"), which=nobody)

    assert builder == "static"
    assert "build.type" in reason


def test_a_node_app_without_any_builder_cli_is_a_plan_error_naming_node_and_the_tools(
    tmp_path: Path,
) -> None:
    make(tmp_path, "package.json", "package-lock.json")

    with pytest.raises(BuildPlanError) as caught:
        detect_build_type(tmp_path, AUTO, which=nobody)

    message = str(caught.value)
    assert "node app (package.json)" in message
    for tool in ("Railpack", "Nixpacks", "pack", "Dockerfile"):
        assert tool in message


def test_the_first_installed_cli_builds_a_detected_language(tmp_path: Path) -> None:
    make(tmp_path, "package.json")

    builder, reason = detect_build_type(tmp_path, AUTO, which=installed("nixpacks"))

    assert builder == "nixpacks"
    assert reason.startswith("this repository looks like a node app (package.json)")
    everything = installed("railpack", "nixpacks", "pack")
    assert detect_build_type(tmp_path, AUTO, which=everything)[0] == "railpack"
    assert detect_build_type(tmp_path, AUTO, which=installed("pack"))[0] == "buildpacks"


def test_nixpacks_is_not_offered_a_language_it_has_no_provider_for(tmp_path: Path) -> None:
    make(tmp_path, "start.sh")

    with pytest.raises(BuildPlanError, match=r"shell app \(start\.sh\).*needs Railpack or"):
        detect_build_type(tmp_path, AUTO, which=installed("nixpacks"))
    assert detect_build_type(tmp_path, AUTO, which=installed("railpack"))[0] == "railpack"


def test_an_empty_repository_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(BuildPlanError, match=r"no Dockerfile, no index\.html and no recognised"):
        detect_build_type(tmp_path, AUTO, which=nobody)


@pytest.mark.parametrize(
    ("files", "settings", "served", "said"),
    [
        (["index.html"], AUTO, ".", "index.html at the repository root"),
        (["public/index.html", "index.html"], AUTO, "public", "public/"),
        (["hello/index.html"], None, "hello", "Staticfile root"),
        (["site/index.html", "package.json"], BuildSettings(static_dir="site"), "site", "site/"),
    ],
)
def test_static_sites_are_detected_and_served_from_the_right_directory(
    tmp_path: Path, files: list[str], settings: BuildSettings | None, served: str, said: str
) -> None:
    make(tmp_path, *files)
    if settings is None:
        (tmp_path / "Staticfile").write_text("root: hello\n")
        settings = AUTO

    builder, reason = detect_build_type(tmp_path, settings, which=nobody)

    assert builder == "static"
    assert said in reason
    assert site_dir(tmp_path, settings) == (tmp_path / served).resolve()


def test_index_html_beside_package_json_is_a_node_app_not_a_static_site(tmp_path: Path) -> None:
    make(tmp_path, "index.html", "package.json", "public/index.html")

    with pytest.raises(BuildPlanError, match="node app"):
        detect_build_type(tmp_path, AUTO, which=nobody)


@pytest.mark.parametrize(
    ("files", "settings", "error"),
    [
        (["x.txt"], BuildSettings(static_dir="../outside"), "leads outside the repository"),
        (["x.txt"], BuildSettings(static_dir="nope"), "is not a directory"),
        (["public/app.css"], AUTO, "no index.html"),
        (["index.html", "Staticfile.auth"], AUTO, "Staticfile.auth asks for HTTP basic auth"),
    ],
)
def test_a_static_site_that_cannot_be_served_is_a_clear_build_failure(
    tmp_path: Path, files: list[str], settings: BuildSettings, error: str
) -> None:
    repo = make(tmp_path / "repo", *files)
    make(tmp_path, "outside/index.html")

    with pytest.raises(BuildFailed, match=error):
        site_dir(repo, settings)


def test_the_static_dockerfile_serves_the_site_with_busybox_httpd_on_the_port() -> None:
    assert static_dockerfile(3000) == (
        f"FROM {BUSYBOX_IMAGE}\nCOPY site/ /www/\nEXPOSE 3000\n"
        'CMD ["httpd", "-f", "-v", "-p", "3000", "-h", "/www"]\n'
    )


def test_dockerfile_paths_are_relative_to_the_context_and_stay_in_the_repository(
    tmp_path: Path,
) -> None:
    repo = make(tmp_path / "repo", "app/main.go", "docker/Dockerfile")
    make(tmp_path, "Dockerfile")
    settings = BuildSettings(context="app", dockerfile="../docker/Dockerfile")

    assert dockerfile_paths(repo, settings) == ((repo / "app").resolve(), "../docker/Dockerfile")
    with pytest.raises(BuildFailed, match="leads outside the repository"):
        dockerfile_paths(repo, BuildSettings(dockerfile="../Dockerfile"))
    with pytest.raises(BuildFailed, match="leads outside the repository"):
        dockerfile_paths(repo, BuildSettings(context=".."))
    with pytest.raises(BuildFailed, match="Dockerfile not found at app/Dockerfile"):
        dockerfile_paths(repo, BuildSettings(context="app"))


def test_a_dockerfile_symlinked_out_of_the_repository_is_refused(tmp_path: Path) -> None:
    repo = make(tmp_path / "repo", "index.html")
    (repo / "Dockerfile").symlink_to(make(tmp_path, "secret") / "secret")

    with pytest.raises(BuildFailed, match="leads outside the repository"):
        dockerfile_paths(repo, AUTO)


@pytest.mark.parametrize(
    ("tool", "command"),
    [
        ("railpack", ["railpack", "build", "/src", "--name", "app:1"]),
        ("nixpacks", ["nixpacks", "build", "/src", "--name", "app:1"]),
        ("buildpacks", ["pack", "build", "app:1", "--path", "/src"]),
        ("pack", ["pack", "build", "app:1", "--path", "/src"]),
    ],
)
def test_cli_command_for_each_external_builder(tool: str, command: list[str]) -> None:
    assert cli_command(tool, Path("/src"), "app:1") == command
    assert cli_command(tool, Path("/src"), "app:1", {"A": "1"})[-2:] == ["--env", "A=1"]


def test_cli_command_refuses_an_unknown_builder() -> None:
    with pytest.raises(ValueError, match="unknown external builder 'kaniko'"):
        cli_command("kaniko", Path("/src"), "app:1")


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "binary"), [("railpack", "railpack"), ("buildpacks", "pack")])
async def test_a_missing_cli_is_a_plan_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tool: str, binary: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(BuildPlanError, match=f"needs the `{binary}` CLI"):
        await build_with_cli(tool, tmp_path, "app:1", None)


@pytest.mark.anyio
async def test_a_failing_cli_streams_its_output_and_fails_with_its_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "bin" / "nixpacks"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@"\necho "no provider matched" >&2\nexit 3\n')
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{fake.parent}:{os.environ['PATH']}")
    lines: list[str] = []

    with pytest.raises(BuildFailed, match="exited with 3") as caught:
        await build_with_cli("nixpacks", tmp_path, "app:1", lines.append, {"X": "y"})

    assert lines == [f"build {tmp_path} --name app:1 --env X=y", "no provider matched"]
    assert caught.value.log.endswith("no provider matched")
    assert "no provider matched" in str(caught.value)


@pytest.mark.anyio
async def test_build_image_says_which_builder_and_why_before_building(tmp_path: Path) -> None:
    make(tmp_path, "index.html", "about.html")
    runtime = FakeRuntime()
    lines: list[str] = []

    builder, image = await build_image(
        runtime, tmp_path, AUTO, port=8080, tag="app:1", labels={"k": "v"}, on_output=lines.append
    )

    assert (builder, image) == ("static", runtime.images["app:1"])
    assert lines[0] == "static site: index.html at the repository root"
    assert runtime.builds[0].labels == {"k": "v"}
    assert sorted(os.listdir(tmp_path)) == ["about.html", "index.html"]
