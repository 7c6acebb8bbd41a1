"""The dashboard's template catalogue: searched by words and filtered by category, each card
with its logo (served as an image that can run nothing), a template's page with its compose
file escaped and its variables said, and the deploy form: a refusal beside its field, and on
success the generated secrets shown in that answer alone ("shown once; stored sealed"),
never again on any page, in the log only sealed."""

from __future__ import annotations

import re
from typing import Any

from rivetr.adapters.template_catalogue import TemplateCatalogue
from tests.web.page_parts import problem, text_of, value

CATALOGUE = TemplateCatalogue.packaged()


def signed_in(member: Any, session_headers: Any, role: str = "owner") -> str:
    member("ann@example.com", role, "default")
    return str(session_headers("ann@example.com")["X-CSRF-Token"])


def cards(page: str) -> list[str]:
    return re.findall(r'data-template="([a-z0-9-]+)"', page)


def deploy(client: Any, token: str, slug: str, **fields: str) -> Any:
    form = {"csrf_token": token, "place": "default/default/production", **fields}
    return client.post(f"/templates/{slug}/deploy", data=form, follow_redirects=False)


def test_the_catalogue_is_searched_by_words_and_filtered_by_category(
    client: Any, member: Any, session_headers: Any
) -> None:
    signed_in(member, session_headers)
    every = client.get("/templates").text
    assert '<a href="/templates" aria-current="page">Templates</a>' in every
    assert cards(every) == [t.slug for t in CATALOGUE.templates]
    assert '<img src="/templates/ghost/logo.svg" alt=""' in every
    assert 'href="https://ghost.org/docs/"' in every
    wiki = cards(client.get("/templates", params={"q": "wiki"}).text)
    assert wiki == [t.slug for t in CATALOGUE.search("wiki")]
    assert "outline" in wiki
    assert "ghost" not in wiki
    cms = client.get("/templates", params={"category": "cms"}).text
    assert cards(cms) == [t.slug for t in CATALOGUE.search("", "cms")]
    assert '<a class="button" href="/templates?category=cms" aria-current="page">' in cms
    both = cards(client.get("/templates", params={"category": "cms", "q": "blog"}).text)
    assert both == [t.slug for t in CATALOGUE.search("blog", "cms")]
    assert both
    nothing = client.get("/templates", params={"q": "no-such-thing-at-all"}).text
    assert text_of(nothing, "no-templates") is not None
    unknown = client.get("/templates", params={"category": "games"})
    assert unknown.status_code == 422
    assert "no category 'games'" in (text_of(unknown.text, "error-message") or "")


def test_a_logo_is_served_as_an_image_that_can_run_nothing(
    client: Any, member: Any, session_headers: Any
) -> None:
    assert client.get("/templates/ghost/logo.svg", follow_redirects=False).status_code in (
        302,
        303,
    )  # signed-in readers only, as every page
    signed_in(member, session_headers)
    logo = client.get("/templates/ghost/logo.svg")
    assert logo.status_code == 200
    assert logo.headers["content-type"].startswith("image/svg+xml")
    assert logo.headers["x-content-type-options"] == "nosniff"
    policy = logo.headers["content-security-policy"]
    assert "default-src 'none'" in policy
    assert "sandbox" in policy
    assert "script" not in policy
    assert logo.content == CATALOGUE.logo("ghost")
    assert client.get("/templates/no-such-one/logo.svg").status_code == 404


def test_a_templates_page_shows_its_compose_file_escaped_and_how_each_variable_is_made(
    client: Any, member: Any, session_headers: Any
) -> None:
    signed_in(member, session_headers)
    page = client.get("/templates/ghost").text
    assert text_of(page, "compose") == CATALOGUE.compose("ghost").strip()
    assert "--header 'X-Forwarded-Proto" not in page  # its quotes escaped, as all it holds
    rows = dict(
        re.findall(
            r'data-variable="(\w+)"><td><code>\w+</code></td><td>[^<]*</td><td>([^<]*)</td>', page
        )
    )
    assert rows == {
        "MYSQL_PASSWORD": "generated: a password of 24 characters",
        "MYSQL_ROOT_PASSWORD": "generated: a password of 24 characters",
        "URL": "https:// and the domain you give",
    }
    assert 'name="domain"' in page
    assert re.search(r'<input type="text" id="f-domain" name="domain"[^>]* required', page)
    assert 'name="var_MYSQL_PASSWORD"' in page  # an override may be given
    assert 'name="var_URL"' not in page  # never: Rivetr derives it from the domain
    outline = client.get("/templates/outline").text
    assert re.search(r'name="var_OIDC_CLIENT_ID"[^>]* required', outline)
    assert client.get("/templates/no-such-one").status_code == 404


def test_a_template_is_deployed_and_its_secrets_are_shown_once_and_stored_sealed(
    client: Any, member: Any, session_headers: Any, call: Any, services: Any
) -> None:
    token = signed_in(member, session_headers)
    answer = deploy(client, token, "ghost", name="blog", domain="blog.example.com")
    assert answer.status_code == 201, answer.text
    assert "location" not in answer.headers  # the answer itself, not a redirect to a URL
    assert answer.headers["cache-control"] == "no-store"
    assert "set-cookie" not in answer.headers
    assert "Shown once; stored sealed." in (text_of(answer.text, "shown-once") or "")
    secrets = dict(re.findall(r'id="secret-(\w+)">([^<]+)<', answer.text))
    assert sorted(secrets) == ["MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD"]
    assert all(len(secret) == 24 for secret in secrets.values())
    link = re.search(r'href="/stacks/(\w+)" id="to-stack"', answer.text)
    assert link is not None
    stack_id = link.group(1)

    stack = client.get(f"/stacks/{stack_id}").text
    assert "(from the ghost template)" in stack
    assert text_of(stack, "variable-names") == (
        "MYSQL_PASSWORD, MYSQL_ROOT_PASSWORD, URL (values are never shown)"
    )
    [release] = call(services.read.stacks.releases_of, stack_id)
    assert (release.status, release.trigger) == ("requested", "template")
    later = [
        "/templates",
        "/templates/ghost",
        "/stacks",
        f"/stacks/{stack_id}",
        f"/stacks/{stack_id}/settings",
        f"/stacks/{stack_id}/variables",
        f"/stacks/{stack_id}/releases/{release.release_id}",
        "/projects/default/default",
        "/audit",
    ]
    log = b"".join(event.data for event in call(services.store.read_all))
    for secret in secrets.values():
        assert secret.encode() not in log
        for path in later:
            assert secret not in client.get(path).text, path


def test_a_refused_deploy_is_shown_beside_its_field_and_a_viewer_has_no_form(
    client: Any, member: Any, session_headers: Any
) -> None:
    token = signed_in(member, session_headers)
    no_domain = deploy(client, token, "ghost", name="blog")
    assert no_domain.status_code == 422
    assert "sets URL from its domain: give one" in (problem(no_domain.text, "domain") or "")
    asked = deploy(
        client, token, "outline", domain="wiki.example.com", var_OIDC_CLIENT_SECRET="typed-s3cret"
    )
    assert asked.status_code == 422
    assert "OIDC_CLIENT_ID must be given" in (problem(asked.text, "var_OIDC_CLIENT_ID") or "")
    assert "typed-s3cret" not in asked.text  # a value typed is never shown back
    assert value(asked.text, "domain") == "wiki.example.com"
    assert deploy(client, token, "adminer", name="adm").status_code == 201
    taken = deploy(client, token, "adminer", name="adm")
    assert taken.status_code == 409
    assert "already has a stack named 'adm'" in (problem(taken.text, "name") or "")
    bad = deploy(client, token, "adminer", name="Not A Name")
    assert problem(bad.text, "name")
    assert deploy(client, "", "adminer", name="adm2").status_code == 403
    assert deploy(client, token, "no-such-one").status_code == 404

    member("vic@example.com", "viewer", "default")
    viewer = session_headers("vic@example.com")["X-CSRF-Token"]
    page = client.get("/templates/adminer").text
    assert 'id="deploy-template"' not in page
    assert text_of(page, "no-place") is not None
    assert deploy(client, viewer, "adminer", name="adm3").status_code == 403
