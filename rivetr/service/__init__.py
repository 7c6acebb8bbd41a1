"""The application services: commands (authorise, decide against the log, append, wait for the
read model), reactors that follow the log and act on the world, and the queries the web asks."""
