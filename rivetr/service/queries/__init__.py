"""Queries: answers read from the read model or the log, authorised like commands, for the web
and the CLI."""
