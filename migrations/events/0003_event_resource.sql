-- The resource an event concerns (an app's id), recorded when it is appended, so that readers
-- need not derive it from the body; NULL on events recorded before this migration (readers
-- resolve those in one place, rivetr/projections/legacy.py) and on events of no resource.
ALTER TABLE events ADD COLUMN resource TEXT;

CREATE INDEX events_by_resource ON events (resource, position) WHERE resource IS NOT NULL;
