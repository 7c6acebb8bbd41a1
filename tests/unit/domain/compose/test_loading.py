"""The reader end to end over in-memory stacks: the project directory and its `.env`, the stack's
variables over it, `extends` and `include` with their paths rebased and their cycles refused,
profiles, env and label files, warnings, and the place of every node kept through it all."""

from __future__ import annotations

from collections.abc import Collection

import pytest

from rivetr.domain.compose.loading import Loaded, load
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.where import ComposeError, Location


def read(
    files: dict[str, str],
    entry: str = "compose.yaml",
    variables: dict[str, str] | None = None,
    profiles: Collection[str] = (),
) -> Loaded:
    return load(InMemorySources(files), entry, variables=variables, profiles=profiles)


def refused(files: dict[str, str], entry: str = "compose.yaml", **kw: object) -> ComposeError:
    with pytest.raises(ComposeError) as caught:
        read(files, entry, **kw)  # type: ignore[arg-type]
    return caught.value


def test_the_entry_directory_is_the_project_and_its_env_feeds_interpolation() -> None:
    files = {
        "deploy/compose.yml": "services:\n  web:\n    image: ${IMAGE}:${TAG:-1}\n",
        "deploy/.env": "IMAGE=web\nTAG=2\n",
        ".env": "IMAGE=wrong\n",
    }
    assert read(files, "deploy/compose.yml").data == {"services": {"web": {"image": "web:2"}}}
    given = read(files, "deploy/compose.yml", variables={"TAG": "3"})
    assert given.data["services"]["web"]["image"] == "web:3"


def test_warnings_say_what_compose_would_warn_of_with_the_line() -> None:
    loaded = read({"compose.yaml": 'version: "3.8"\nservices:\n  web:\n    image: x${NOPE}\n'})
    assert loaded.data == {"services": {"web": {"image": "x"}}}
    assert loaded.warnings == (
        'compose.yaml:1: "version" is obsolete: it is ignored',
        'compose.yaml:4: the variable "NOPE" is not set: it is read as ""',
    )


def test_extensions_and_the_name_are_kept_and_no_name_is_made_up() -> None:
    text = "name: mine\nx-common: &c {a: 1}\nservices:\n  web: {image: x, x-extra: *c}\n"
    assert read({"compose.yaml": text}).data["x-common"] == {"a": 1}
    assert "name" not in read({"compose.yaml": "services: {web: {image: x}}\n"}).data


def test_extends_in_the_same_file_along_a_chain() -> None:
    text = (
        "services:\n"
        "  base:\n    image: base\n    environment: [A=1]\n"
        "  middle:\n    extends: base\n    environment: [B=2]\n"
        "  top:\n    extends: {service: middle}\n    command: go\n"
    )
    services = read({"compose.yaml": text}).data["services"]
    assert services["top"] == {
        "image": "base",
        "environment": {"A": "1", "B": "2"},
        "command": "go",
    }
    assert services["middle"] == {"image": "base", "environment": {"A": "1", "B": "2"}}


def test_extends_across_files_rebases_the_paths_of_the_base_file() -> None:
    files = {
        "compose.yaml": (
            "services:\n  web:\n    extends: {file: lib/base.yaml, service: app}\n"
            "    volumes: ['./own:/own']\n"
        ),
        "lib/base.yaml": (
            "services:\n  app:\n    extends: {file: common/root.yaml, service: root}\n"
            "    build: {context: ., dockerfile: Dockerfile}\n"
            "    env_file: app.env\n"
            "    volumes:\n"
            "      - ./conf:/etc/conf:ro\n"
            "      - data:/data\n"
            "      - {type: bind, source: x, target: /x}\n"
        ),
        "lib/app.env": "FROM_FILE=1\n",
        "lib/common/root.yaml": "services:\n  root:\n    image: root\n    label_file: [l.txt]\n",
        "lib/common/l.txt": "tier=base\n",
    }
    loaded = read(files)
    web = loaded.data["services"]["web"]
    assert web == {
        "image": "root",
        "labels": {"tier": "base"},
        "build": {"context": "./lib", "dockerfile": "Dockerfile"},
        "environment": {"FROM_FILE": "1"},
        "volumes": [
            "./lib/conf:/etc/conf:ro",
            "data:/data",
            {"type": "bind", "source": "./lib/x", "target": "/x"},
            "./own:/own",
        ],
    }
    assert loaded.where.of(("services", "web", "image")) == Location("lib/common/root.yaml", 3)
    assert loaded.where.of(("services", "web", "environment", "FROM_FILE")) == Location(
        "lib/app.env", 1
    )
    assert loaded.where.of(("services", "web", "volumes", 3)) == Location("compose.yaml", 4)


def test_extends_cycles_and_missing_bases_are_refused_at_the_extends() -> None:
    cycle = refused({"compose.yaml": "services:\n  a: {extends: b}\n  b: {extends: a}\n"})
    assert cycle.problem == "extends cycle detected: a -> b -> a"
    assert (cycle.key, cycle.location) == ("services.a.extends", Location("compose.yaml", 2))
    missing = refused({"compose.yaml": "services:\n  a:\n    extends: nope\n"})
    assert missing.problem == 'cannot extend service "a": service "nope" not found'
    assert missing.location == Location("compose.yaml", 3)
    no_file = refused(
        {"compose.yaml": "services:\n  a:\n    extends: {file: x.yaml, service: b}\n"}
    )
    assert "x.yaml is not in the stack" in no_file.problem
    outside = refused(
        {"compose.yaml": "services:\n  a:\n    extends: {file: ../x.yaml, service: b}\n"}
    )
    assert "leaves the stack" in outside.problem


def test_include_brings_in_services_with_their_own_directory_and_env() -> None:
    files = {
        "compose.yaml": (
            "include:\n  - lib/db.yaml\n"
            "  - path: [tools/tool.yaml, tools/override.yaml]\n    project_directory: tools\n"
            "    env_file: tools/vars.env\n"
            "services:\n  web: {image: web, depends_on: [db]}\n"
        ),
        "lib/db.yaml": (
            "services:\n  db:\n    image: postgres:${PG:-15}\n    env_file: db.env\n"
            "    volumes: ['./init:/docker-entrypoint-initdb.d']\n"
            "volumes:\n  pgdata: {}\n"
        ),
        "lib/.env": "PG=16\n",
        "lib/db.env": "POSTGRES_DB=app\n",
        "tools/tool.yaml": "services:\n  tool: {image: 'tool:${TOOL}', build: ./src}\n",
        "tools/override.yaml": "services:\n  tool: {command: run}\n",
        "tools/vars.env": "TOOL=2\n",
    }
    loaded = read(files, variables={"TOOL": "9"})
    data = loaded.data
    assert loaded.where.of(("services", "db", "image")) == Location("lib/db.yaml", 3)
    assert loaded.where.of(("services", "tool", "command")) == Location("tools/override.yaml", 2)
    assert data["services"] == {
        "web": {"image": "web", "depends_on": ["db"]},
        "db": {
            "image": "postgres:16",
            "volumes": ["./lib/init:/docker-entrypoint-initdb.d"],
            "environment": {"POSTGRES_DB": "app"},
        },
        "tool": {"image": "tool:9", "build": "./tools/src", "command": "run"},
    }
    assert data["volumes"] == {"pgdata": {}}
    assert "include" not in data


def test_an_include_cycle_is_refused_however_far_down() -> None:
    files = {
        "compose.yaml": "include: [a/a.yaml]\nservices: {web: {image: x}}\n",
        "a/a.yaml": "include: [../b.yaml]\n",
        "b.yaml": "include: [compose.yaml]\n",
    }
    error = refused(files)
    assert error.problem == (
        "include cycle detected: compose.yaml -> a/a.yaml -> b.yaml -> compose.yaml"
    )
    assert error.location == Location("b.yaml", 1)


def test_an_included_file_that_is_not_there_is_refused_at_the_include() -> None:
    error = refused({"compose.yaml": "services: {web: {image: x}}\ninclude:\n  - lib/none.yaml\n"})
    assert error.problem == "cannot include lib/none.yaml: lib/none.yaml is not in the stack"
    assert (error.key, error.location) == ("include[0]", Location("compose.yaml", 3))


def test_a_service_defined_both_here_and_in_an_include_is_refused_unless_the_same() -> None:
    files = {
        "compose.yaml": "include: [other.yaml]\nservices:\n  web: {image: mine}\n",
        "other.yaml": "services:\n  web: {image: theirs}\n",
    }
    error = refused(files)
    assert error.key == "services.web"
    assert "defined twice" in error.problem
    assert "other.yaml" in error.problem
    files["other.yaml"] = "services:\n  web: {image: mine}\n"
    assert read(files).data["services"] == {"web": {"image": "mine"}}


def test_profiles_keep_only_enabled_services() -> None:
    text = (
        "services:\n  web: {image: w}\n"
        "  debug: {image: d, profiles: [dev, debug]}\n"
        "  tools: {image: t, profiles: [tools]}\n"
    )
    assert set(read({"compose.yaml": text}).data["services"]) == {"web"}
    assert set(read({"compose.yaml": text}, profiles=["debug"]).data["services"]) == {
        "web",
        "debug",
    }
    assert set(read({"compose.yaml": text}, profiles=["*"]).data["services"]) == {
        "web",
        "debug",
        "tools",
    }
    env = {"compose.yaml": text, ".env": "COMPOSE_PROFILES=tools,dev\n"}
    assert set(read(env).data["services"]) == {"web", "debug", "tools"}


def test_depending_on_a_dropped_service_is_refused_unless_not_required() -> None:
    needed = (
        "services:\n  web:\n    image: w\n    depends_on: [dbg]\n"
        "  dbg: {image: d, profiles: [dev]}\n"
    )
    error = refused({"compose.yaml": needed})
    assert error.key == "services.web.depends_on[0]"
    assert 'depends on "dbg"' in error.problem
    assert "required: false" in error.problem
    optional = (
        "services:\n  web:\n    image: w\n    depends_on:\n"
        "      dbg: {condition: service_started, required: false}\n"
        "      db: {condition: service_healthy}\n"
        "  dbg: {image: d, profiles: [dev]}\n  db: {image: p}\n"
    )
    web = read({"compose.yaml": optional}).data["services"]["web"]
    assert web["depends_on"] == {"db": {"condition": "service_healthy"}}


def test_env_files_merge_under_the_services_own_environment() -> None:
    files = {
        "compose.yaml": (
            "services:\n  web:\n    image: w\n"
            "    env_file: [one.env, {path: two.env}, {path: absent.env, required: false}]\n"
            "    environment: [B=own, EMPTY=, UNSET_HERE]\n"
        ),
        "one.env": "A=1\nB=1\nC=${A}-${PORT:-80}\n",
        "two.env": "A=2\nEMPTY=from-file\nUNSET_HERE=from-file\nD=$A\n",
    }
    loaded = read(files, variables={"PORT": "8080"})
    assert loaded.data["services"]["web"]["environment"] == {
        "A": "2",
        "B": "own",
        "C": "1-8080",
        "EMPTY": "",
        "UNSET_HERE": None,
        "D": "1",  # as compose-go: the files before win over the lines above in the same file
    }
    assert loaded.where.of(("services", "web", "environment", "A")) == Location("two.env", 1)
    assert loaded.where.of(("services", "web", "environment", "B")) == Location("compose.yaml", 5)


def test_a_value_left_empty_takes_the_dotenv_value_but_not_a_stack_variable() -> None:
    files = {
        "compose.yaml": (
            "services:\n  web:\n    image: w\n    environment: [FROM_DOTENV, FROM_STACK]\n"
        ),
        ".env": "FROM_DOTENV=d\nFROM_STACK=overridden\n",
    }
    environment = read(files, variables={"FROM_STACK": "s"}).data["services"]["web"]["environment"]
    assert environment == {"FROM_DOTENV": "d", "FROM_STACK": None}


def test_a_missing_required_env_file_is_refused_naming_service_key_and_path() -> None:
    error = refused(
        {"compose.yaml": "services:\n  web:\n    image: w\n    env_file: missing.env\n"}
    )
    assert (error.key, error.problem) == ("services.web.env_file", "env file missing.env not found")
    assert error.location == Location("compose.yaml", 4)
    outside = refused(
        {"compose.yaml": "services:\n  web:\n    image: w\n    env_file: [../up.env]\n"}
    )
    assert outside.key == "services.web.env_file[0]"
    assert "leaves the stack" in outside.problem


def test_a_malformed_env_file_entry_is_refused_at_its_item() -> None:
    text = "services:\n  web:\n    image: w\n    env_file:\n      - a.env\n      - {required: no}\n"
    error = refused({"compose.yaml": text, "a.env": "A=1\n"})
    assert (error.key, error.location) == ("services.web.env_file[1]", Location("compose.yaml", 6))


def test_a_raw_env_file_is_taken_as_written() -> None:
    files = {
        "compose.yaml": (
            "services:\n  web:\n    image: w\n    env_file: [{path: raw.env, format: raw}]\n"
        ),
        "raw.env": 'PASSWORD="$ecret"\n',
    }
    assert read(files).data["services"]["web"]["environment"] == {"PASSWORD": '"$ecret"'}


def test_places_survive_interpolation() -> None:
    loaded = read(
        {"compose.yaml": "services:\n  web:\n    image: ${I:-x}\n    ports:\n      - ${P:-80}:80\n"}
    )
    assert loaded.data["services"]["web"] == {"image": "x", "ports": ["80:80"]}
    assert loaded.where.of(("services", "web", "ports", 0)) == Location("compose.yaml", 5)


def test_a_stack_over_the_service_bound_with_its_includes_is_refused() -> None:
    many = "services:\n" + "".join(f"  s{i}: {{image: x}}\n" for i in range(300))
    more = "services:\n" + "".join(f"  t{i}: {{image: x}}\n" for i in range(300))
    error = refused({"compose.yaml": "include: [more.yaml]\n" + many, "more.yaml": more})
    assert "a stack may hold 500" in error.problem
