-- Consents service schema (search_path = consents). Organisations, conventions and actions
-- belong to the partners and action plan services: referenced by id, checked through their APIs.

-- Exchange requests: `body` is the serialized ctg.consents.v1.ExchangeRequest (its own fields,
-- study, opinion, decision, stored state); the columns beside it are what queries filter on.
CREATE TABLE exchange_requests (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  requester uuid NOT NULL,
  holder uuid NOT NULL CHECK (holder <> requester),
  state smallint NOT NULL,
  body bytea NOT NULL,
  -- The etag's version: +1 on every change and every step.
  version bigint NOT NULL DEFAULT 1,
  demonstration boolean NOT NULL DEFAULT false
);
CREATE INDEX exchange_requests_requester ON exchange_requests (requester, seq);
CREATE INDEX exchange_requests_holder ON exchange_requests (holder, seq);

-- Exchanges recorded under a consent.
CREATE TABLE exchanges (
  seq bigserial PRIMARY KEY,
  consent uuid NOT NULL REFERENCES exchange_requests (id),
  categories smallint[] NOT NULL,
  volume bigint NOT NULL CHECK (volume >= 1),
  exchange_time timestamptz NOT NULL,
  reference text NOT NULL,
  author text NOT NULL
);

-- The audit trail: one hash chain per holding organisation (so checks on different holders never
-- wait on one another), each event holding the hash of the previous one of its chain; the head
-- row of a chain is locked while an event is appended, and records the last sequence and hash so
-- that a deleted tail is detected too.
CREATE TABLE audit_heads (
  chain text PRIMARY KEY,
  seq bigint NOT NULL,
  hash text NOT NULL
);

CREATE TABLE audit_events (
  chain text NOT NULL,
  seq bigint NOT NULL,
  event_time timestamptz NOT NULL,
  actor text NOT NULL,
  organisation text NOT NULL,
  operation text NOT NULL,
  reference text NOT NULL,
  before text NOT NULL,
  after text NOT NULL,
  previous_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_events_reference ON audit_events (reference, chain, seq);

-- Append-only, at the database level: no role may change or remove an audit event, the
-- service's own included. The trigger holds for every role (a superuser too, unless it turns
-- triggers off for its session, which the verification then catches); the owner's own UPDATE,
-- DELETE and TRUNCATE privileges are revoked as well, for deployments where the service runs as
-- the schema's owner without superuser rights.
CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit events are append-only' USING ERRCODE = '42501';
END;
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM CURRENT_USER;
