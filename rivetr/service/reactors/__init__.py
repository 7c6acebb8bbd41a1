"""Reactors: background work that follows the log and acts on the world (the deployer and its
pipeline, the route keeper, certificate renewal, the live event hub, start-up reconciliation),
appending what it saw as new events."""
