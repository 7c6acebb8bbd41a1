"""Builders: turn a checked-out commit into an image, from its Dockerfile, as a static site served
by busybox httpd, or with an installed Railpack, Nixpacks or `pack` CLI."""
