"""load_settings: defaults, then rivetr.toml, then RIVETR_* variables, then the command line;
a bad value is one line naming the key and where it came from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rivetr.adapters.proxy import ProxyLimits
from rivetr.config import ConfigError, Settings, load_settings, origins


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test runs in an empty directory, so ./rivetr.toml is only the one a test writes."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def config_error(**kwargs: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(**kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_apply_when_nothing_is_configured() -> None:
    settings = load_settings(environ={})

    assert settings == Settings()
    assert settings.data_dir == "./rivetr-data"
    assert (settings.host, settings.port, settings.engine) == ("127.0.0.1", 8080, "auto")
    assert settings.data_path == Path("./rivetr-data")


def test_values_come_from_rivetr_toml_in_the_working_directory(workdir: Path) -> None:
    write(
        workdir / "rivetr.toml",
        'host = "0.0.0.0"\nport = 9000\nengine = "podman"\npoll_interval_s = 0.25\n',
    )

    settings = load_settings(environ={})

    assert (settings.host, settings.port, settings.engine) == ("0.0.0.0", 9000, "podman")
    assert settings.poll_interval_s == 0.25
    assert settings.log_level == "info"  # untouched keys keep their default


def test_an_explicit_config_file_is_read_instead_of_the_local_one(
    workdir: Path, tmp_path: Path
) -> None:
    write(workdir / "rivetr.toml", "port = 9000\n")
    explicit = write(tmp_path / "etc" / "rivetr.toml", "port = 9100\n")

    assert load_settings(config_file=explicit, environ={}).port == 9100
    assert load_settings(environ={"RIVETR_CONFIG": str(explicit)}).port == 9100


def test_the_data_directory_can_hold_the_config_file(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write(data / "rivetr.toml", 'log_level = "debug"\n')

    assert load_settings(environ={"RIVETR_DATA": str(data)}).log_level == "debug"
    assert load_settings(environ={}, overrides={"data_dir": str(data)}).log_level == "debug"


def test_environment_variables_override_the_file(workdir: Path) -> None:
    write(workdir / "rivetr.toml", 'port = 9000\nhost = "0.0.0.0"\nengine = "docker"\n')

    settings = load_settings(
        environ={"RIVETR_PORT": "9001", "RIVETR_ENGINE": "none", "RIVETR_POLL_INTERVAL_S": "2.5"}
    )

    assert (settings.port, settings.engine, settings.poll_interval_s) == (9001, "none", 2.5)
    assert settings.host == "0.0.0.0"


def test_rivetr_data_sets_the_data_directory() -> None:
    assert load_settings(environ={"RIVETR_DATA": "/srv/rivetr"}).data_dir == "/srv/rivetr"
    assert load_settings(environ={"RIVETR_DATA_DIR": "/srv/other"}).data_dir == "/srv/other"


def test_environment_variables_that_are_not_settings_are_ignored() -> None:
    settings = load_settings(environ={"RIVETR_VECTORS": "/x", "PORT": "1", "HOME": "/root"})

    assert settings == Settings()


def test_the_command_line_overrides_the_environment_and_the_file(workdir: Path) -> None:
    write(workdir / "rivetr.toml", 'port = 9000\nlog_level = "warning"\n')

    settings = load_settings(
        environ={"RIVETR_PORT": "9001", "RIVETR_DATA": "/from/env"},
        overrides={"port": 9002, "data_dir": "/from/flag", "log_level": None},
    )

    assert (settings.port, settings.data_dir) == (9002, "/from/flag")
    assert settings.log_level == "warning"  # a flag left unset (None) does not override


@pytest.mark.parametrize(
    ("environ", "key", "value"),
    [
        ({"RIVETR_PORT": "abc"}, "port", "abc"),
        ({"RIVETR_PORT": "70000"}, "port", "70000"),
        ({"RIVETR_ENGINE": "lxc"}, "engine", "lxc"),
        ({"RIVETR_POLL_INTERVAL_S": "0"}, "poll_interval_s", "0"),
    ],
)
def test_a_bad_environment_value_names_the_key_and_the_variable(
    environ: dict[str, str], key: str, value: str
) -> None:
    message = config_error(environ=environ)

    assert repr(key) in message
    assert repr(value) in message
    assert f"environment variable {next(iter(environ))}" in message


@pytest.mark.parametrize(
    ("toml", "key"),
    [
        ("port = 70000\n", "port"),
        ('port = "eighty"\n', "port"),
        ('engine = "lxc"\n', "engine"),
        ('log_level = "loud"\n', "log_level"),
    ],
)
def test_a_bad_file_value_names_the_key_and_the_file(workdir: Path, toml: str, key: str) -> None:
    write(workdir / "rivetr.toml", toml)

    message = config_error(environ={})

    assert repr(key) in message
    assert "(from rivetr.toml)" in message  # the file as found: ./rivetr.toml


def test_a_bad_explicit_file_value_names_that_file(tmp_path: Path) -> None:
    path = write(tmp_path / "etc" / "rivetr.toml", 'engine = "lxc"\n')

    message = config_error(config_file=path, environ={})

    assert "'engine'" in message
    assert "'lxc'" in message
    assert str(path) in message


def test_a_bad_value_from_the_environment_is_blamed_on_the_environment_not_the_file(
    workdir: Path,
) -> None:
    write(workdir / "rivetr.toml", "port = 9000\n")

    message = config_error(environ={"RIVETR_PORT": "abc"})

    assert "environment variable RIVETR_PORT" in message
    assert "rivetr.toml" not in message


def test_a_bad_command_line_value_is_blamed_on_the_command_line() -> None:
    message = config_error(environ={}, overrides={"port": 0})

    assert "'port'" in message
    assert "command line" in message


def test_an_unknown_key_in_the_file_is_refused_by_name(workdir: Path) -> None:
    write(workdir / "rivetr.toml", 'port = 9000\nengin = "docker"\n')

    message = config_error(environ={})

    assert message.startswith("rivetr.toml: unknown key 'engin'")


def test_a_table_in_the_file_is_an_unknown_key(workdir: Path) -> None:
    write(workdir / "rivetr.toml", "[server]\nport = 9000\n")

    assert "'server'" in config_error(environ={})


def test_invalid_toml_is_refused_with_the_file_named(tmp_path: Path) -> None:
    path = write(tmp_path / "etc" / "rivetr.toml", "port = = 9000\n")

    message = config_error(config_file=path, environ={})

    assert message.startswith(f"{path} is not valid TOML")
    assert "line 1" in message


def test_a_missing_explicit_config_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "rivetr.toml"

    assert str(missing) in config_error(config_file=missing, environ={})
    assert str(missing) in config_error(environ={"RIVETR_CONFIG": str(missing)})


def test_a_bad_secret_key_is_named_but_never_echoed() -> None:
    almost = "A" * 85 + "=="  # one character short

    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"RIVETR_SECRET_KEY": almost})

    assert "'secret_key' (from environment variable RIVETR_SECRET_KEY)" in str(caught.value)
    assert "not a base64 64-byte key" in str(caught.value)
    assert almost not in str(caught.value)


def test_a_short_metrics_token_is_named_but_never_echoed() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"RIVETR_METRICS_TOKEN": "too short"})

    assert "'metrics_token' (from environment variable RIVETR_METRICS_TOKEN)" in str(caught.value)
    assert "not 16 to 256 printable characters" in str(caught.value)
    assert "too short" not in str(caught.value)


@pytest.mark.parametrize(
    ("given", "address"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:9100", ("::1", 9100)), (None, None)],
)
def test_metrics_listen_is_a_host_and_a_port(given: str | None, address: object) -> None:
    assert load_settings(environ={}, overrides={"metrics_listen": given}).metrics_address == address


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("127.0.0.1", "not host:port"),
        ("localhost:0", "the port must be 1 to 65535"),
        ("::1:9100", "not host:port"),
        ("127.0.0.1:70000", "the port must be 1 to 65535"),
    ],
)
def test_a_metrics_listen_that_is_no_host_and_port_is_refused(given: str, reason: str) -> None:
    message = config_error(environ={"RIVETR_METRICS_LISTEN": given})
    assert "'metrics_listen'" in message
    assert reason in message


def test_the_proxy_limits_default_to_the_settings_defaults() -> None:
    settings, limits = Settings(), ProxyLimits()

    assert limits.header_timeout_s == settings.proxy_header_timeout_s
    assert limits.idle_timeout_s == settings.proxy_idle_timeout_s
    assert limits.max_connections == settings.proxy_max_connections
    assert limits.max_connections_per_ip == settings.proxy_max_connections_per_ip


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RIVETR_PROXY_HEADER_TIMEOUT_S", "0"),
        ("RIVETR_PROXY_IDLE_TIMEOUT_S", "-1"),
        ("RIVETR_PROXY_MAX_CONNECTIONS", "0"),
        ("RIVETR_PROXY_MAX_CONNECTIONS_PER_IP", "many"),
    ],
)
def test_a_proxy_limit_out_of_range_is_refused_by_name(name: str, value: str) -> None:
    message = config_error(environ={name: value})

    assert repr(name[7:].lower()) in message
    assert f"environment variable {name}" in message


def test_no_proxy_is_trusted_by_default_and_trusted_ones_come_from_a_list_or_a_variable(
    workdir: Path,
) -> None:
    assert Settings().trusted_proxies == []
    write(workdir / "rivetr.toml", 'trusted_proxies = ["10.0.0.0/8", "::1"]\n')
    assert load_settings(environ={}).trusted_proxies == ["10.0.0.0/8", "::1"]

    from_env = load_settings(environ={"RIVETR_TRUSTED_PROXIES": " 192.0.2.7, 2001:db8::/32 "})

    assert from_env.trusted_proxies == ["192.0.2.7", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("10.0.0.1/8", "has host bits set"),
        ("proxy.example.com", "does not appear to be an IPv4 or IPv6 network"),
        ("*", "does not appear to be an IPv4 or IPv6 network"),
    ],
)
def test_a_trusted_proxy_that_is_no_address_or_network_is_refused(given: str, reason: str) -> None:
    message = config_error(environ={"RIVETR_TRUSTED_PROXIES": f"127.0.0.1,{given}"})

    assert "'trusted_proxies' (from environment variable RIVETR_TRUSTED_PROXIES)" in message
    assert reason in message


def test_local_git_directories_come_as_a_toml_list_or_separated_like_path(workdir: Path) -> None:
    write(workdir / "rivetr.toml", 'git_local_dirs = ["/srv/git"]\ngit_allow_private = true\n')

    from_file = load_settings(environ={})
    from_env = load_settings(environ={"RIVETR_GIT_LOCAL_DIRS": "/srv/git:/opt/repos:"})

    assert (from_file.git_local_dirs, from_file.git_allow_private) == (["/srv/git"], True)
    assert from_env.git_local_dirs == ["/srv/git", "/opt/repos"]
    assert load_settings(environ={"RIVETR_GIT_LOCAL_DIRS": ""}).git_local_dirs == []
    assert Settings().git_local_dirs == []
    assert Settings().git_allow_private is False
    assert "git_local_dirs" in config_error(environ={}, overrides={"git_local_dirs": "/srv"})


def test_the_public_url_is_an_http_address_or_nothing() -> None:
    given = load_settings(environ={"RIVETR_PUBLIC_URL": "https://deploy.example.com/rivetr"})
    assert given.public_url == "https://deploy.example.com/rivetr"
    assert load_settings(environ={}).public_url is None
    for wrong in ("deploy.example.com", "ftp://deploy.example.com", "https://a@b.example"):
        assert "public_url" in config_error(environ={"RIVETR_PUBLIC_URL": wrong})


def test_origins_name_where_each_setting_not_at_its_default_came_from(tmp_path: Path) -> None:
    config = write(tmp_path / "rivetr.toml", 'public_url = "https://file.example"\ndrain_s = 5\n')
    found = origins(
        config, environ={"RIVETR_PUBLIC_URL": "https://env.example"}, overrides={"port": 9000}
    )
    assert found == {
        "public_url": "environment variable RIVETR_PUBLIC_URL",
        "drain_s": str(config),
        "port": "command line",
    }
