"""Refusals name the file, the line and the key a user has to change."""

from rivetr.domain.compose.where import ComposeError, Location, Where, dotted


def test_a_path_without_a_place_of_its_own_is_placed_where_its_parent_was_written() -> None:
    where = Where({("services",): Location("compose.yaml", 1)})
    where.add(("services", "web"), Location("compose.yaml", 2))
    assert where.of(("services", "web", "ports", 0)) == Location("compose.yaml", 2)
    assert where.of(("volumes",)) is None


def test_moved_places_a_subtree_under_another_path() -> None:
    base = Where({("services", "base", "image"): Location("base.yaml", 3)})
    moved = base.moved(("services", "base"), ("services", "web"))
    assert moved.of(("services", "web", "image")) == Location("base.yaml", 3)
    assert moved.of(("services", "base", "image")) is None


def test_a_refusal_names_file_line_and_key() -> None:
    where = Where({("services", "web", "privileged"): Location("compose.yaml", 7)})
    error = ComposeError("is refused", key=("services", "web", "privileged"), where=where)
    assert str(error) == "compose.yaml:7: services.web.privileged: is refused"
    assert (error.key, error.location) == ("services.web.privileged", Location("compose.yaml", 7))
    assert dotted(("services", "web", "ports", 0, "target")) == "services.web.ports[0].target"
