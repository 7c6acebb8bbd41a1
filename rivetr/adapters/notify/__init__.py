"""Sending notices to the services a team's channels name: apprise for the chat, push and mail
services, a signed JSON POST for generic webhooks; and an in-memory twin for tests."""
