-- Reporting schema (search_path = reporting). Conventions, actions, indicators and consents
-- belong to their services: a job names its convention and gathers the rest through their APIs.

-- The job queue, claimed with FOR UPDATE SKIP LOCKED (as River, Oban, graphile-worker and Solid
-- Queue do). One row per report asked for: the unique key makes the same request twice give the
-- same job (and so the same report) without a check-then-insert race; a new version is asked for
-- explicitly.
CREATE TABLE report_jobs (
  id uuid PRIMARY KEY,
  seq bigserial NOT NULL UNIQUE,
  convention text NOT NULL,          -- "conventions/{uuid}"
  kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 3),
  year integer NOT NULL,             -- the annual review's year; 0 for the two bilans
  cutoff date NOT NULL,              -- data known at this date, not corrected since
  version integer NOT NULL CHECK (version >= 1),
  -- 1 available, 2 running (leased), 3 succeeded, 4 failed for good, 5 cancelled
  state smallint NOT NULL CHECK (state BETWEEN 1 AND 5),
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL CHECK (max_attempts >= 1),
  -- Available: not claimed before this time (retry backoff). Running: the end of the lease,
  -- after which another worker may claim it. One column, one index for both.
  run_after timestamptz NOT NULL,
  lease_owner text,
  stage text NOT NULL DEFAULT '',
  percent smallint NOT NULL DEFAULT 0 CHECK (percent BETWEEN 0 AND 100),
  last_error text NOT NULL DEFAULT '',
  report text NOT NULL DEFAULT '',   -- "reports/{uuid}" once succeeded
  requested_by text NOT NULL,
  created_at timestamptz NOT NULL,
  finished_at timestamptz,
  UNIQUE (convention, kind, year, cutoff, version)
);
CREATE INDEX report_jobs_claimable ON report_jobs (run_after, seq) WHERE state IN (1, 2);
CREATE INDEX report_jobs_finished ON report_jobs (finished_at) WHERE state IN (3, 4, 5);
