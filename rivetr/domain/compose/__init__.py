"""Compose stacks: a compose file read as the Compose Specification says, into a typed model,
then weighed for what Rivetr can run and what a team may ask of the host. Pure: files are
read through a `Sources` given by the caller."""
