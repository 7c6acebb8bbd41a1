"""Source adapters: fetch the exact commit a deployment builds into a local work tree."""
