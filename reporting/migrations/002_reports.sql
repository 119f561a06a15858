-- Frozen reports: what a job gathered at its cut-off, never changed afterwards. A report is
-- written in the transaction that marks its job succeeded (guarded by the worker's claim), so a
-- worker that lost its lease publishes nothing and a job never has two reports.
CREATE TABLE reports (
  id uuid PRIMARY KEY,
  job uuid NOT NULL UNIQUE REFERENCES report_jobs (id) ON DELETE RESTRICT,
  convention text NOT NULL,
  kind smallint NOT NULL,
  year integer NOT NULL,
  cutoff date NOT NULL,
  version integer NOT NULL,
  created_at timestamptz NOT NULL,
  demonstration boolean NOT NULL
);

-- Each rendition of a report, with the SHA-256 of its bytes.
CREATE TABLE report_artefacts (
  report uuid NOT NULL REFERENCES reports (id),
  name text NOT NULL,
  media_type text NOT NULL,
  content bytea NOT NULL,
  sha256 text NOT NULL,
  PRIMARY KEY (report, name)
);

-- A succeeded job keeps its report: pruning deletes finished jobs without one (failed,
-- cancelled) and leaves the job row of a report in place.
