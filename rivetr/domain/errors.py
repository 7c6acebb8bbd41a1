"""Refusals the domain can give, each with a message a user can act on."""


class DomainError(Exception):
    """A command was refused by the rules of the domain; `field` names the command's field at
    fault, when one is (a form shows the message beside it)."""

    title = "Command refused"
    status = 409

    def __init__(self, *args: object, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class NotFound(DomainError):
    title = "Not found"
    status = 404


class AlreadyExists(DomainError):
    title = "Already exists"
    status = 409


class InvalidCommand(DomainError):
    title = "Invalid command"
    status = 422


class Forbidden(DomainError):
    title = "Forbidden"
    status = 403
