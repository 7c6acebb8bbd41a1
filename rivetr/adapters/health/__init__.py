"""Health checks run from Rivetr itself: HTTP probes against a freshly started container."""
