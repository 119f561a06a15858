-- The service's calls run as a role that may not UPDATE or DELETE audit events (its privileges
-- are declared in ConsentServiceSpec's runtime_privileges and granted by the runtime when the
-- schema has a separate owner). A purge of the check log deletes through this function, which
-- runs as the schema's owner and removes only the events of a check chain that the chain's
-- checkpoint already covers: the trigger refuses any other deletion, the owner's included.
CREATE FUNCTION purge_checked_events(p_chain text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  purged bigint;
BEGIN
  IF p_chain NOT LIKE '%/checks' THEN
    RAISE EXCEPTION 'only a check chain is ever purged' USING ERRCODE = '42501';
  END IF;
  PERFORM set_config('ctg.audit_purge', 'on', true);
  DELETE FROM audit_events e
   WHERE e.chain = p_chain
     AND e.seq <= (SELECT c.seq FROM audit_checkpoints c WHERE c.chain = p_chain);
  GET DIAGNOSTICS purged = ROW_COUNT;
  PERFORM set_config('ctg.audit_purge', 'off', true);
  RETURN purged;
END;
$$;
REVOKE ALL ON FUNCTION purge_checked_events(text) FROM PUBLIC;
