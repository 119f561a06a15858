-- Indicators service schema (search_path = indicators). Territories, conventions and
-- organisations belong to the partners service: they are referenced by their codes, checked
-- through its API.

-- One row per indicator code: the identity and list order of a definition.
CREATE TABLE indicators (
  code text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{1,63}$'),
  seq bigserial NOT NULL UNIQUE,
  current_version integer NOT NULL DEFAULT 1
);

-- Every version of every definition: a value keeps the version it was recorded under.
-- `body` is the serialized ctg.indicators.v1.Indicator; the columns beside it are what queries
-- filter on.
CREATE TABLE indicator_versions (
  code text NOT NULL REFERENCES indicators (code),
  version integer NOT NULL CHECK (version >= 1),
  kind smallint NOT NULL,
  fields smallint[] NOT NULL DEFAULT '{}',
  body bytea NOT NULL,
  author text NOT NULL,
  create_time timestamptz NOT NULL,
  PRIMARY KEY (code, version)
);

-- Values are only ever appended: a correction is a newer row for the same indicator,
-- territory and period, so what was known at any instant stays readable ("as of"). The newest
-- row (highest seq) recorded at or before an instant is the value as of that instant.
CREATE SEQUENCE value_seq CACHE 1000;

CREATE TABLE indicator_values (
  seq bigint NOT NULL DEFAULT nextval('value_seq'),
  indicator text NOT NULL,
  territory text NOT NULL,
  period text NOT NULL,
  -- Consecutive periods of the indicator's periodicity differ by 1 (range queries).
  period_ord integer NOT NULL,
  value double precision NOT NULL CHECK (value > '-Infinity' AND value < 'Infinity'),
  status smallint NOT NULL CHECK (status IN (1, 2)),
  source smallint NOT NULL,
  demonstration boolean NOT NULL DEFAULT false,
  indicator_version integer NOT NULL,
  batch_id uuid NOT NULL,
  author text NOT NULL,
  record_time timestamptz NOT NULL
);
-- The one index: series, comparisons and "as of" reads all probe it. Newest first within a key,
-- so a series reads its rows in the order DISTINCT ON wants them (no sort).
CREATE INDEX indicator_values_key ON indicator_values (indicator, territory, period_ord, seq DESC);

-- Committed batches, per principal (a batch id belongs to the caller that used it): a re-sent
-- batch with the same fingerprint is a no-op, another content under the same id is refused.
CREATE TABLE ingest_batches (
  author text NOT NULL,
  batch_id uuid NOT NULL,
  fingerprint bytea NOT NULL,
  values_written bigint NOT NULL,
  commit_time timestamptz NOT NULL,
  PRIMARY KEY (author, batch_id)
);
