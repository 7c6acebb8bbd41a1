"""The container-engine port and its Docker/Podman implementations."""
