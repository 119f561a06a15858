-- The heads and checkpoints that verification trusts are protected like the events: a head only
-- moves forward, a checkpoint exists only on a check chain and only moves forward, neither is
-- ever removed; and a purge deletes only check events.
CREATE FUNCTION refuse_head_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND NEW.chain = OLD.chain AND NEW.seq >= OLD.seq THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'audit heads and checkpoints only move forward' USING ERRCODE = '42501';
END;
$$;
CREATE TRIGGER audit_heads_forward BEFORE UPDATE OR DELETE ON audit_heads
  FOR EACH ROW EXECUTE FUNCTION refuse_head_change();
CREATE TRIGGER audit_heads_no_truncate BEFORE TRUNCATE ON audit_heads
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_checkpoints_forward BEFORE UPDATE OR DELETE ON audit_checkpoints
  FOR EACH ROW EXECUTE FUNCTION refuse_head_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
ALTER TABLE audit_checkpoints ADD CONSTRAINT audit_checkpoints_check_chains
  CHECK (chain LIKE '%/checks');

CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND OLD.chain LIKE '%/checks' AND
     current_setting('ctg.audit_purge', true) = 'on' AND
     OLD.seq <= coalesce((SELECT c.seq FROM audit_checkpoints c WHERE c.chain = OLD.chain), 0) THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = '42501';
END;
$$;
