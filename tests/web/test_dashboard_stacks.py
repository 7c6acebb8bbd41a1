"""The dashboard's compose stacks: the list and the project page with them, the new-stack form
(a repository or an inline compose file, routes one a line, variables write-only), a stack's
page with its live release service by service, Deploy and Roll back, a release's timeline
grouped by service, a service's logs (or why there are none), the settings and variables
pages and deletion by typing the name. Every form works without JavaScript, needs the page's
CSRF token and goes through the stack service as the API does; a release's steps are written
by the tests, as the stack's deployer would record them."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

from rivetr.domain import certificates
from rivetr.domain.access import SYSTEM
from rivetr.domain.aggregates import CERTIFICATES, STACKS
from rivetr.domain.commands import CreateProject
from rivetr.domain.stack_commands import InstallStackCertificate
from rivetr.service.commands.handler import folded
from tests.web.page_parts import problem, text_of, value
from tests.web.stack_steps import failed_health, on_servers, recorded, superseded, went_live

COMPOSE = "services:\r\n  web:\r\n    image: nginx:1.27\r\n  db:\r\n    image: postgres:16\r\n"
SECRET = "hunter2-never-shown"


def signed_in(member: Any, session_headers: Any, role: str = "owner") -> str:
    member("ann@example.com", role, "default")
    return str(session_headers("ann@example.com")["X-CSRF-Token"])


def created(client: Any, token: str, **fields: str) -> str:
    form = {
        "csrf_token": token,
        "name": "blog",
        "place": "default/default/production",
        "compose": COMPOSE,
        "routes": "web 80 blog.example.com www.blog.example.com",
        "variables": f"DB_PASSWORD={SECRET}\nMODE=prod\n",
    }
    made = client.post("/stacks", data={**form, **fields}, follow_redirects=False)
    assert made.status_code in (302, 303), made.text
    return str(made.headers["location"]).rsplit("/", 1)[1]


def pages_of(client: Any, stack_id: str) -> list[str]:
    paths = ["/stacks", f"/stacks/{stack_id}", f"/stacks/{stack_id}/settings"]
    paths += [f"/stacks/{stack_id}/variables", "/projects/default/default"]
    return [client.get(path).text for path in paths]


def test_a_stack_is_made_from_the_form_and_shown_with_its_routes_and_variable_names(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    listed = client.get("/stacks")
    assert '<a href="/stacks" aria-current="page">Stacks</a>' in listed.text
    assert '<a href="/templates">Templates</a>' in listed.text
    assert text_of(listed.text, "no-stacks") is not None
    form = client.get("/stacks/new?team=default&project=default&environment=production").text
    assert 'value="default/default/production" selected' in form
    stack_id = created(client, token)

    page = client.get(f"/stacks/{stack_id}").text
    assert text_of(page, "source") == "inline (given with the stack)"
    assert text_of(page, "variable-names") == "DB_PASSWORD, MODE (values are never shown)"
    route = re.search(r'<tr data-route="web">(.*?)</tr>', page, re.S)
    assert route is not None
    assert 'href="http://blog.example.com' in route.group(1)
    assert "www.blog.example.com" in route.group(1)
    assert "Nothing serves" in (text_of(page, "not-live") or "")
    # it follows its own events live, from where it was drawn (tojson escapes the &)
    assert f'"/api/v1/events/stream?stack={stack_id}\\u0026after=' in page
    assert text_of(page, "no-releases") == "Never deployed."
    assert f'data-stack="{stack_id}"' in client.get("/stacks").text
    project = client.get("/projects/default/default").text
    assert f'href="/stacks/{stack_id}"' in project
    assert 'id="env-production-new-stack"' in project
    [production] = client.get("/api/v1/projects/default/default").json()["environments"]
    assert [(r["kind"], r["name"], r["id"]) for r in production["resources"]] == [
        ("stack", "blog", stack_id)
    ]
    [event] = [e for e in call(services.store.read_all) if e.type == "stack.created"]
    assert event.event.compose == COMPOSE.replace("\r\n", "\n")  # kept as a file is written
    for shown in pages_of(client, stack_id):
        assert SECRET not in shown


def test_a_repository_stack_is_made_and_a_refused_one_is_shown_beside_its_field(
    client: Any, member: Any, session_headers: Any
) -> None:
    token = signed_in(member, session_headers)
    git = {"compose": "", "git_url": "https://git.example.com/blog.git", "branch": "live"}
    stack_id = created(client, token, compose_path="deploy/compose.yml", **git)
    page = client.get(f"/stacks/{stack_id}").text
    assert text_of(page, "source") == (
        "deploy/compose.yml of https://git.example.com/blog.git, branch live"
    )

    def refused(status: int, **fields: str) -> str:
        form = {"csrf_token": token, "name": "other", "compose": COMPOSE, "variables": "A=1"}
        answer = client.post("/stacks", data={**form, **fields})
        assert answer.status_code == status, answer.text
        assert SECRET not in answer.text
        return str(answer.text)

    route = refused(422, routes="web 80 blog.test\nweb eighty\n")
    assert "line 2 is not 'SERVICE PORT [DOMAIN ...]'" in (problem(route, "routes") or "")
    assert value(route, "name") == "other"  # as typed
    domain = refused(422, routes="web 80 not_a domain!")
    assert problem(domain, "routes") == "line 1: 'not_a' is not a domain name"
    both = refused(422, git_url="https://git.example.com/x.git")
    assert "give exactly one" in (problem(both, "compose") or "")
    pasted = refused(422, variables=f"A={SECRET}\n2BAD=x\n")
    assert "line 2" in (problem(pasted, "variables") or "")
    taken = refused(409, name="blog")
    assert "already has a stack named 'blog'" in (problem(taken, "name") or "")
    name = refused(422, name="Not A Name")
    assert problem(name, "name")
    assert client.post("/stacks", data={"name": "x", "compose": COMPOSE}).status_code == 403


def test_deploy_and_roll_back_from_the_stack_page_and_the_timeline_by_service(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    path = f"/stacks/{stack_id}"
    first = client.post(f"{path}/deploy", data={"csrf_token": token}, follow_redirects=False)
    assert first.status_code in (302, 303)
    first_id = first.headers["location"].rsplit("/", 1)[1]
    asked = client.get(first.headers["location"]).text
    assert text_of(asked, "status") == "requested"
    call(recorded, services, stack_id, first_id, went_live(first_id))

    page = client.get(path).text
    assert text_of(page, "live-release") == first_id
    web = re.search(r'<tr data-service="web">(.*?)</tr>', page, re.S)
    assert web is not None
    shown = re.sub(r"<[^>]+>", "", web.group(1))  # what the row says, not its attributes
    assert "0123456789ab" in shown
    assert "sha256" not in shown
    assert f"stack-web-{first_id}" in web.group(1)
    assert "beside" in web.group(1)
    assert "ready" in web.group(1)
    assert f'href="{path}/services/web/logs"' in web.group(1)
    assert f'id="rollback-{first_id}"' not in page  # the live one: nothing to go back to

    second = client.post(f"{path}/deploy", data={"csrf_token": token}, follow_redirects=False)
    second_id = second.headers["location"].rsplit("/", 1)[1]
    call(recorded, services, stack_id, second_id, went_live(second_id))
    call(recorded, services, stack_id, first_id, superseded(first_id, second_id))
    third = client.post(f"{path}/deploy", data={"csrf_token": token}, follow_redirects=False)
    third_id = third.headers["location"].rsplit("/", 1)[1]
    call(recorded, services, stack_id, third_id, failed_health(third_id))

    page = client.get(path).text
    row = re.search(rf'<tr data-release="{third_id}">(.*?)</tr>', page, re.S)
    assert row is not None
    assert "health of web: no answer on port 80 after 30 s" in row.group(1)
    assert f'id="rollback-{first_id}"' in page
    assert f'id="rollback-{third_id}"' not in page  # it never served
    release = client.get(f"{path}/releases/{third_id}").text
    assert "Failed at health of service web: no answer on port 80" in (
        text_of(release, "failure") or ""
    )
    assert "The previous release still serves" in (text_of(release, "failure") or "")
    assert "`links` ignored" in (text_of(release, "warnings") or "")
    sections = re.findall(r'<section id="steps-([\w.-]+)"', release)
    assert sections == ["release", "web"]  # the release's own steps first, then each service
    web_steps = release.split('id="steps-web"', 1)[1]
    assert re.findall(r'data-step="(\w+)"', web_steps) == [
        "service_image_ready",
        "service_started",
        "failed",
    ]
    back = client.post(
        f"{path}/rollback", data={"csrf_token": token, "to": first_id}, follow_redirects=False
    )
    assert back.status_code in (302, 303)
    rollback = client.get(back.headers["location"]).text
    assert f"back to {first_id}" in (text_of(rollback, "summary") or "")
    never = client.post(f"{path}/rollback", data={"csrf_token": token, "to": third_id})
    assert never.status_code == 422
    assert "never served" in (text_of(never.text, "deploy-problem") or "")
    assert client.post(f"{path}/deploy", data={}).status_code == 403
    assert client.get(f"{path}/releases/aaaaaaaaaaaa").status_code == 404


def test_a_services_logs_say_why_there_are_none(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    none_yet = client.get(f"/stacks/{stack_id}/services/web/logs")
    assert none_yet.status_code == 200
    assert "no container for service 'web' (yet)" in (text_of(none_yet.text, "logs-problem") or "")
    asked = client.post(
        f"/stacks/{stack_id}/deploy", data={"csrf_token": token}, follow_redirects=False
    )
    release_id = asked.headers["location"].rsplit("/", 1)[1]
    call(recorded, services, stack_id, release_id, went_live(release_id))
    no_engine = client.get(f"/stacks/{stack_id}/services/web/logs").text
    assert "The container engine is unavailable" in (text_of(no_engine, "logs-problem") or "")
    assert client.get(f"/stacks/{stack_id}/services/no%20such/logs").status_code == 404


def test_settings_change_only_what_differs_and_the_stack_is_deleted_by_its_name(
    client: Any, member: Any, session_headers: Any, log_types: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    path = f"/stacks/{stack_id}/settings"
    page = client.get(path).text
    assert (text_of(page, "f-routes") or "") == "web 80 blog.example.com www.blog.example.com"
    same = client.post(path, data={"csrf_token": token, "routes": text_of(page, "f-routes")})
    assert "Nothing changed" in (text_of(same.text, "banner") or "")
    assert "stack.settings_changed" not in log_types()
    changed = client.post(
        path,
        data={"csrf_token": token, "routes": "web 8080 blog.example.com", "watch_paths": "x/**"},
    )
    assert "Saved" in (text_of(changed.text, "banner") or "")
    page = client.get(f"/stacks/{stack_id}").text
    assert "8080" in (text_of(page, "routes") or "")
    assert "www.blog.example.com" not in page
    routes = "web 8080 blog.example.com"
    repository = {"git_url": "https://git.example.com/b.git", "routes": routes}
    switched = client.post(path, data={"csrf_token": token, **repository})
    assert switched.status_code == 200
    assert "https://git.example.com/b.git" in (
        text_of(client.get(f"/stacks/{stack_id}").text, "source") or ""
    )
    both = client.post(path, data={"csrf_token": token, "compose": COMPOSE, **repository})
    assert both.status_code == 422
    assert "not both" in (problem(both.text, "compose") or "")
    neither = client.post(path, data={"csrf_token": token, "routes": routes})
    assert "needs its repository URL" in (problem(neither.text, "git_url") or "")
    bad = client.post(path, data={"csrf_token": token, **repository, "routes": "web 0"})
    assert "is not a port" in (problem(bad.text, "routes") or "")

    delete = f"/stacks/{stack_id}/delete"
    wrong = client.post(delete, data={"csrf_token": token, "confirm": "blgo"})
    assert wrong.status_code == 422
    assert "nothing was deleted" in (problem(wrong.text, "confirm") or "")
    gone = client.post(
        delete, data={"csrf_token": token, "confirm": "blog"}, follow_redirects=False
    )
    assert gone.status_code in (302, 303)
    assert client.get(f"/stacks/{stack_id}").status_code == 404


def test_variables_are_set_removed_and_pasted_and_never_shown(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    path = f"/stacks/{stack_id}/variables"
    one = client.post(path, data={"csrf_token": token, "name": "API_KEY", "value": SECRET})
    assert "Saved: API_KEY" in (text_of(one.text, "banner") or "")
    assert 'data-variable="API_KEY"' in one.text
    removed = client.post(f"{path}/remove", data={"csrf_token": token, "name": "MODE"})
    assert 'data-variable="MODE"' not in removed.text
    pasted = client.post(f"{path}/paste", data={"csrf_token": token, "text": "X=1\nY=2\n"})
    assert "Saved: X, Y" in (text_of(pasted.text, "banner") or "")
    bad = client.post(path, data={"csrf_token": token, "name": "2BAD", "value": SECRET})
    assert bad.status_code == 422
    assert "not a variable name" in (problem(bad.text, "name") or "")
    assert value(bad.text, "name") == "2BAD"
    for shown in [bad.text, *pages_of(client, stack_id)]:
        assert SECRET not in shown
    view = call(services.read.stacks.one, stack_id)
    assert view.variables == ["API_KEY", "DB_PASSWORD", "X", "Y"]


def test_a_viewer_sees_no_change_buttons_and_a_stranger_finds_nothing(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    deployed = client.post(
        f"/stacks/{stack_id}/deploy", data={"csrf_token": token}, follow_redirects=False
    )
    release_id = deployed.headers["location"].rsplit("/", 1)[1]
    call(services.projects.run, SYSTEM, CreateProject(team="default", project="shop"))
    member("vic@example.com", "viewer", "default")
    viewer = session_headers("vic@example.com")["X-CSRF-Token"]
    paths = [f"/stacks/{stack_id}", f"/stacks/{stack_id}/settings", f"/stacks/{stack_id}/variables"]
    for path in [*paths, f"/stacks/{stack_id}/releases/{release_id}"]:
        page = client.get(path)
        assert page.status_code == 200, path
        for form in ("deploy-form", "settings-form", "delete-form", "variable-form", "paste-form"):
            assert f'id="{form}"' not in page.text, (path, form)
    assert 'id="new-stack"' not in client.get("/stacks").text
    assert text_of(client.get("/stacks/new").text, "no-place") is not None
    refused = client.post(f"/stacks/{stack_id}/deploy", data={"csrf_token": viewer})
    assert refused.status_code == 403
    member("dev@example.com", "developer", "default")
    developer = session_headers("dev@example.com")["X-CSRF-Token"]
    settings = client.get(f"/stacks/{stack_id}/settings").text
    assert 'id="settings-form"' in settings
    assert 'name="routes"' not in settings
    edited = client.post(
        f"/stacks/{stack_id}/settings",
        data={"csrf_token": developer, "watch_paths": "docs/**", "routes": "web 1 evil.example"},
    )
    assert "Saved" in (text_of(edited.text, "banner") or "")
    assert "evil.example" not in client.get(f"/stacks/{stack_id}").text
    member("eve@example.com", "owner", "evil")
    session_headers("eve@example.com")
    for path in [
        *paths,
        f"/stacks/{stack_id}/releases/{release_id}",
        f"/stacks/{stack_id}/services/web/logs",
    ]:
        assert client.get(path).status_code == 404, path
    assert f'data-stack="{stack_id}"' not in client.get("/stacks").text
    assert client.get("/stacks/not-an-id").status_code == 404


def test_every_stack_form_needs_the_pages_csrf_token(
    client: Any, member: Any, session_headers: Any, log_types: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    before = log_types()
    forms = {
        "deploy": {},
        "rollback": {"to": "aaaaaaaaaaaa"},
        "settings": {"routes": "web 81"},
        "delete": {"confirm": "blog"},
        "variables": {"name": "A", "value": "1"},
        "variables/remove": {"name": "MODE"},
        "variables/paste": {"text": "A=1"},
    }
    for action, fields in forms.items():
        for presented in ({}, {"csrf_token": "0" * 64}):
            answer = client.post(f"/stacks/{stack_id}/{action}", data={**fields, **presented})
            assert answer.status_code == 403, action
            assert "This form has expired" in answer.text
    assert log_types() == before


def test_a_stacks_page_says_which_domains_serve_https_and_links_them_so(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    facts = {"not_before": "2026-12-01T00:00:00+00:00", "not_after": "2027-03-01T00:00:00+00:00"}
    install = InstallStackCertificate(
        stack_id=stack_id,
        domain="blog.example.com",
        issuer="CN=Test CA",
        serial="1",
        fingerprint="ab" * 32,
        **facts,
    )
    call(installed, services, install)

    page = client.get(f"/stacks/{stack_id}").text
    assert text_of(page, "certificates") == "HTTPS for blog.example.com until 2027-03-01 (acme)"
    assert 'href="https://blog.example.com' in page
    assert 'href="http://www.blog.example.com' in page  # no certificate: plain HTTP


async def installed(services: Any, install: InstallStackCertificate) -> None:
    """Record the certificate as the ACME path does once the CA issued it (no CA here)."""
    stack = await folded(services.store, STACKS.at(install.stack_id))
    await services.stacks.handler.execute(
        SYSTEM,
        install,
        CERTIFICATES,
        install.domain,
        decide=partial(certificates.decide_install_for_stack, stack),
        resource=install.stack_id,
    )


def test_a_service_on_servers_shows_its_swarm_service_and_its_copies(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    stack_id = created(client, token)
    path = f"/stacks/{stack_id}"
    asked = client.post(f"{path}/deploy", data={"csrf_token": token}, follow_redirects=False)
    release_id = asked.headers["location"].rsplit("/", 1)[1]
    call(recorded, services, stack_id, release_id, on_servers(release_id))

    page = client.get(path).text
    web = re.search(r'<tr data-service="web">(.*?)</tr>', page, re.S)
    assert web is not None
    shown = " ".join(re.sub(r"<[^>]+>", "", web.group(1)).split())
    assert f"rivetr-blog-web-{release_id} on servers: 2 copies (vps-2, vps-3)" in shown
    release = client.get(f"{path}/releases/{release_id}").text
    said = " ".join(re.sub(r"<[^>]+>", "", text_of(release, "service-web") or "").split())
    assert f"on servers as the swarm service rivetr-blog-web-{release_id} (beside)" in said
    assert "port 80 on vps-2 (10.0.0.2:30001), vps-3 (10.0.0.3:30002)" in said
    web_steps = release.split('id="steps-web"', 1)[1]
    assert "on servers (beside): 2 copies as" in web_steps
    assert "copies at 10.0.0.2:30001, 10.0.0.3:30002" in web_steps
