"""What a query answers instead of a view: absent (what the reader may not see is as absent as
what does not exist, so names do not leak across teams) or a question it cannot take. Their
titles are HTTP's own phrases, as the API has always answered them."""

from __future__ import annotations

from rivetr.domain.errors import DomainError


class Absent(DomainError):
    title = "Not Found"
    status = 404


class BadQuery(DomainError):
    title = "Bad Request"
    status = 400
