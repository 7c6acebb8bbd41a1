"""Every compose file of the shared vectors (`$RIVETR_VECTORS/compose`, read in place) loads, or
is refused, as the vectors README says, with the values its EXPECTED notes name. The dependency
cycles and the unknown key load here: the model refuses them (checks.py, normalise.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rivetr.domain.compose.loading import Loaded, load
from rivetr.domain.compose.sources import InMemorySources
from rivetr.domain.compose.where import ComposeError, Location

# (stack root, entry) -> None when it loads, else what the refusal says
EXPECTED: dict[tuple[str, str], str | None] = {
    **{
        (f"awesome-compose/{name}", "compose.yaml"): None
        for name in (
            "elasticsearch-logstash-kibana",
            "flask",
            "gitea-postgres",
            "nextcloud-redis-mariadb",
            "nginx-flask-mysql",
            "nginx-golang-postgres",
            "pihole-cloudflared-DoH",
            "postgresql-pgadmin",
            "react-express-mysql",
        )
    },
    ("awesome-compose/wasmedge-mysql-nginx", "compose.yml"): None,
    ("compose-go/env-file", "compose-with-env-files.yaml"): None,
    ("compose-go/extends", "base.yaml"): None,
    ("compose-go/extends", "compose-include.yaml"): None,
    ("compose-go/extends", "compose-test-extends.yaml"): None,
    ("compose-go/extends", "reset.yaml"): None,
    ("compose-go/extends", "sibling.yaml"): None,
    ("compose-go/extends", "subdir/compose-test-extends-imported.yaml"): None,
    ("compose-go/full-example", "full-example.yml"): None,
    ("compose-go/interpolation", "interpolated.yaml"): None,
    ("compose-go/interpolation", "using-variables.yaml"): None,
    ("compose-go/invalid", "compose-depends-on-cycle.yaml"): None,
    ("compose-go/invalid", "compose-depends-on-self.yaml"): None,
    ("compose-go/invalid", "compose-include-cycle.yaml"): "include cycle detected",
    ("compose-go/legacy", "compose-test-with-version.yaml"): None,
    ("docker-compose-e2e/cascade", "compose.yaml"): None,
    ("docker-compose-e2e/config_hash", "compose.yaml"): None,
    ("docker-compose-e2e/dotenv", "development/compose.yaml"): None,
    ("docker-compose-e2e/env_file", "compose.yaml"): "env file /doesnotexist/.env",
    ("docker-compose-e2e/extends-file", "compose.yaml"): None,
    ("docker-compose-e2e/extends-file", "extends.yaml"): None,
    ("docker-compose-e2e/invalid", "wrong-composefile.yaml"): None,
    ("docker-compose-e2e/network-recreate", "compose.yaml"): None,
    ("docker-compose-e2e/restart-test", "compose-depends-on.yaml"): None,
}


@pytest.fixture(scope="module")
def compose_vectors(vectors_dir: Path) -> Path:
    return vectors_dir / "compose"


def stack(compose_vectors: Path, root: str) -> InMemorySources:
    """The stack rooted at `root`, its files read in place."""
    base = compose_vectors / root
    return InMemorySources(
        {
            str(path.relative_to(base)): path.read_bytes()
            for path in base.rglob("*")
            if path.is_file()
        }
    )


def loaded(compose_vectors: Path, root: str, entry: str, **kw: object) -> Loaded:
    return load(stack(compose_vectors, root), entry, **kw)  # type: ignore[arg-type]


def test_the_table_names_every_compose_file_of_the_vectors(compose_vectors: Path) -> None:
    files = {
        str(path.relative_to(compose_vectors))
        for path in compose_vectors.rglob("*.y*ml")
        if "schema" not in path.parts
    }
    assert files == {f"{root}/{entry}" for root, entry in EXPECTED}


@pytest.mark.parametrize(("root", "entry"), sorted(EXPECTED))
def test_each_vector_loads_or_is_refused_as_its_readme_says(
    compose_vectors: Path, root: str, entry: str
) -> None:
    problem = EXPECTED[(root, entry)]
    if problem is None:
        assert loaded(compose_vectors, root, entry).data["services"]
        return
    with pytest.raises(ComposeError) as refused:
        loaded(compose_vectors, root, entry)
    assert refused.value.problem.startswith(problem)


def test_extends_from_a_subdirectory(compose_vectors: Path) -> None:
    result = loaded(compose_vectors, "compose-go/extends", "compose-test-extends.yaml")
    importer = result.data["services"]["importer"]
    # env_file values do not feed interpolation: container_name keeps its default
    assert importer["container_name"] == "imported"
    assert importer["image"] == "nginx"
    assert importer["environment"] == {"SOURCE": "extends"}
    assert importer["volumes"] == ["/opt/data:/var/lib/mysql"]
    assert "env_file" not in importer
    assert "extends" not in importer
    assert result.where.of(("services", "importer", "environment", "SOURCE")) == Location(
        "subdir/extra.env", 1
    )
    assert result.where.of(("services", "importer", "image")) == Location(
        "subdir/compose-test-extends-imported.yaml", 3
    )


def test_extending_the_services_of_base_yaml(compose_vectors: Path) -> None:
    sources = stack(compose_vectors, "compose-go/extends")
    mine = (
        "services:\n"
        "  port: {extends: {file: base.yaml, service: with-port}, image: x}\n"
        "  limits: {extends: {file: base.yaml, service: withUlimits}}\n"
        "  named: {extends: {file: base.yaml, service: another}}\n"
        "  built: {extends: {file: base.yaml, service: with-build}}\n"
    )
    files = {name: sources.read(name) for name in ("base.yaml", "sibling.yaml")}
    services = load(InMemorySources({**files, "mine.yaml": mine}), "mine.yaml").data["services"]
    assert services["port"]["ports"] == ["8000:8000"]
    assert services["limits"]["ulimits"] == {
        "nproc": 65535,
        "nofile": {"soft": 20000, "hard": 40000},
    }
    assert services["named"] == {"image": "base"}
    assert services["built"] == {"build": "."}


def test_reset_drops_the_inherited_command(compose_vectors: Path) -> None:
    base = loaded(compose_vectors, "compose-go/extends", "reset.yaml").data["services"]["base"]
    assert base == {"image": "alpine:latest"}


def test_a_default_inside_a_short_volume(compose_vectors: Path) -> None:
    foo = loaded(compose_vectors, "compose-go/interpolation", "interpolated.yaml").data
    assert foo["services"]["foo"]["volumes"] == ["/dev/null:/tmp/foo:ro"]


def test_the_dotenv_of_the_project_directory_with_defaults_inside(compose_vectors: Path) -> None:
    root, entry = "docker-compose-e2e/dotenv", "development/compose.yaml"
    services = loaded(compose_vectors, root, entry).data["services"]
    assert services == {"backend": {"image": "backend:latest"}}
    enabled = loaded(compose_vectors, root, entry, profiles=["test"]).data["services"]
    assert enabled["test"] == {"image": "enabled:profile", "profiles": ["test"]}


def test_the_include_of_a_file_in_a_subdirectory(compose_vectors: Path) -> None:
    services = loaded(compose_vectors, "compose-go/extends", "compose-include.yaml").data[
        "services"
    ]
    assert services["bar"] == {"image": "bar", "environment": {"FOO": "BAR"}}
    assert services["imported"]["environment"] == {"SOURCE": "extends"}


def test_the_include_cycle_names_the_file(compose_vectors: Path) -> None:
    with pytest.raises(ComposeError) as refused:
        loaded(compose_vectors, "compose-go/invalid", "compose-include-cycle.yaml")
    assert refused.value.problem == (
        "include cycle detected: compose-include-cycle.yaml -> compose-include-cycle.yaml"
    )
    assert refused.value.location == Location("compose-include-cycle.yaml", 2)


def test_an_env_file_outside_the_stack_names_service_key_and_path(compose_vectors: Path) -> None:
    for profiles in ([], ["test"]):
        with pytest.raises(ComposeError) as refused:
            loaded(
                compose_vectors, "docker-compose-e2e/env_file", "compose.yaml", profiles=profiles
            )
        assert refused.value.key == "services.serviceB.env_file[0]"
        assert "/doesnotexist/.env" in refused.value.problem
        assert refused.value.location == Location("compose.yaml", 8)


def test_a_missing_optional_env_file_is_skipped(compose_vectors: Path) -> None:
    services = loaded(compose_vectors, "docker-compose-e2e/config_hash", "compose.yaml").data[
        "services"
    ]
    assert services["with-env-file"]["environment"] == {"EXAMPLE": "value"}
    assert services["optional-env"] == {"image": "alpine", "command": ["sleep", "infinity"]}


def test_the_full_example_merges_its_env_and_label_files(compose_vectors: Path) -> None:
    result = loaded(compose_vectors, "compose-go/full-example", "full-example.yml")
    foo = result.data["services"]["foo"]
    assert foo["environment"] == {
        "FOO": "foo_from_env_file",
        "ENV.WITH.DOT": "ok",
        "ENV_WITH_UNDERSCORE": "ok",
        "BAR": "bar_from_env_file_2",
        "BAZ": "baz_from_service_def",
        "QUX": None,  # the service's own (empty) entry wins; the deployer gives its value
    }
    assert foo["labels"]["BAR"] == "bar_from_label_file_2"
    assert foo["labels"]["com.example.number"] == 42
    assert foo["configs"][1]["mode"] == 0o440
    assert result.warnings == (
        'full-example.yml:39: the variable "COMPOSE_PROJECT_NAME" is not set: it is read as ""',
    )


def test_env_files_and_the_project_env(compose_vectors: Path) -> None:
    result = loaded(compose_vectors, "compose-go/env-file", "compose-with-env-files.yaml")
    simple = result.data["services"]["simple"]
    assert simple["ports"] == ["8000:80"]
    assert simple["environment"] == {"DEFAULT_PORT": "9090"}
    assert result.warnings == (
        'compose-with-env-files.yaml:1: "version" is obsolete: it is ignored',
    )


def test_interpolation_in_list_environments_and_labels(compose_vectors: Path) -> None:
    pg = loaded(compose_vectors, "awesome-compose/postgresql-pgadmin", "compose.yaml").data
    assert pg["services"]["postgres"]["environment"]["POSTGRES_USER"] == "yourUser"
    restart = loaded(compose_vectors, "docker-compose-e2e/restart-test", "compose-depends-on.yaml")
    assert restart.data["services"]["nginx"]["labels"] == {"TEST": "test"}
    network = loaded(compose_vectors, "docker-compose-e2e/network-recreate", "compose.yaml")
    assert network.data["networks"]["test"]["labels"] == ["foo=foo"]
