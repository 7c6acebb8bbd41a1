-- Who acted on whose behalf: the team a command was authorised in, and the way the actor came in
-- (session, token:<name>, webhook, cli, system). NULL on events recorded before this migration.
ALTER TABLE events ADD COLUMN team TEXT;
ALTER TABLE events ADD COLUMN source TEXT;
