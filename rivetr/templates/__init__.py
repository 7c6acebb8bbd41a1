"""The one-click service templates as data: a directory per template holding `compose.yaml`,
`template.toml` (its metadata) and `logo.svg`, read by `adapters.template_catalogue`."""
