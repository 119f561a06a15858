-- A position in insertion order for every event, so that a request's history is listed in
-- pages (keyset on the id). Not part of an event's hash.
ALTER TABLE audit_events ADD COLUMN id bigserial NOT NULL;
CREATE INDEX audit_events_reference_id ON audit_events (reference, id);
DROP INDEX audit_events_reference;
