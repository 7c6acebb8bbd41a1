"""The server-rendered dashboard, a module per page: sign-in and setup, apps, an app, a
deployment and its buttons, the audit history."""
