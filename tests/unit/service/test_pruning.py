"""Which images an app keeps: its newest releases for rollback, and whatever is still in use."""

from __future__ import annotations

from rivetr.projections.deployments import DeploymentView
from rivetr.service.reactors.pruning import images_to_keep


def deployment(n: int, status: str, image: str | None = "same") -> DeploymentView:
    return DeploymentView(
        id=f"d{n}",
        app="web",
        app_id="a1",
        team="acme",
        status=status,
        trigger="api",
        branch="main",
        commit=None,
        commit_sha=None,
        commit_message=None,
        image=f"rivetr/web:d{n}" if image == "same" else image,
        container_name=None,
        host_port=None,
        rollback_of=None,
        failed_step=None,
        failure_reason=None,
        requested_at="",
        requested_by="",
        updated_at="",
        finished_at=None,
    )


def test_the_newest_served_releases_are_kept_and_older_ones_are_not() -> None:
    newest_first = [deployment(n, "retired") for n in range(9, 0, -1)]
    newest_first[0] = deployment(9, "live")

    assert images_to_keep(newest_first, keep=3) == {
        "rivetr/web:d9",
        "rivetr/web:d8",
        "rivetr/web:d7",
    }


def test_failed_and_cancelled_builds_do_not_count_and_are_not_kept() -> None:
    newest_first = [
        deployment(5, "failed"),
        deployment(4, "rolled_back"),
        deployment(3, "live"),
        deployment(2, "cancelled"),
        deployment(1, "retired"),
    ]

    assert images_to_keep(newest_first, keep=2) == {"rivetr/web:d3", "rivetr/web:d1"}


def test_images_in_use_are_kept_beyond_the_count() -> None:
    newest_first = [
        deployment(4, "building", image=None),
        deployment(3, "health_checking"),
        deployment(2, "live"),
        deployment(1, "superseded"),  # still draining
    ]

    assert images_to_keep(newest_first, keep=1) == {
        "rivetr/web:d3",
        "rivetr/web:d2",
        "rivetr/web:d1",
    }


def test_a_rollback_reusing_an_image_counts_it_once() -> None:
    newest_first = [
        deployment(4, "live", image="rivetr/web:d1"),  # rolled back to d1's image
        deployment(3, "retired"),
        deployment(2, "retired"),
        deployment(1, "retired"),
    ]

    assert images_to_keep(newest_first, keep=2) == {"rivetr/web:d1", "rivetr/web:d3"}
