-- Purging the check log after its retention (CNIL: 6 to 12 months) without breaking the chains:
-- checks have their own chain per holder ("<holder>/checks"); a purge deletes a prefix of it and
-- keeps a checkpoint of the last purged event (its sequence and hash, which the next event
-- holds), signed with a key of this schema, as Certificate Transparency logs prune.
CREATE TABLE audit_checkpoints (
  chain text PRIMARY KEY,
  seq bigint NOT NULL,
  hash text NOT NULL,
  purge_time timestamptz NOT NULL,
  purged_events bigint NOT NULL,
  -- hex HMAC-SHA256 of "<chain>|<seq>|<hash>" under audit_keys.checkpoint
  signature text NOT NULL
);

CREATE TABLE audit_keys (
  name text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO audit_keys (name, value)
VALUES ('checkpoint', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

-- Still append-only, except the purge: a session that declares it (ctg.audit_purge) deletes
-- only events a checkpoint already covers.
CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('ctg.audit_purge', true) = 'on' AND
     OLD.seq <= coalesce((SELECT c.seq FROM audit_checkpoints c WHERE c.chain = OLD.chain), 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = '42501';
END;
$$;
GRANT DELETE ON audit_events TO CURRENT_USER;
