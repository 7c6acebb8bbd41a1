"""The application service: authorise a command, decide it against the log, append, and wait
for the read model, in one place for every command."""
