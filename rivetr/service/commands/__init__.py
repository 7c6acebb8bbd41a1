"""Command services: what the API, the dashboard and the CLI ask to change, each authorised,
decided against the log and appended through one handler (`handler.py`)."""
