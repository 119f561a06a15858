-- Action plan service schema (search_path = action_plan). Conventions and organisations belong
-- to the partners service: they are referenced by id only, checked through its API.

CREATE TABLE axes (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  convention_id uuid NOT NULL,
  number integer NOT NULL CHECK (number >= 1),
  title text NOT NULL CHECK (title <> ''),
  weight double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight < 'Infinity'),
  version bigint NOT NULL DEFAULT 1,
  UNIQUE (convention_id, number)
);

CREATE TABLE actions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  convention_id uuid NOT NULL,
  axis_id uuid NOT NULL REFERENCES axes (id),
  number integer NOT NULL CHECK (number >= 1),
  title text NOT NULL CHECK (title <> ''),
  description text NOT NULL DEFAULT '',
  objectives text[] NOT NULL DEFAULT '{}',
  fields smallint[] NOT NULL DEFAULT '{}',
  pilots uuid[] NOT NULL CHECK (cardinality(pilots) >= 1),
  partners uuid[] NOT NULL DEFAULT '{}',
  planned_start date,
  planned_end date,
  continuous boolean NOT NULL DEFAULT false,
  priority smallint NOT NULL DEFAULT 0,
  indicators text[] NOT NULL DEFAULT '{}',
  weight double precision NOT NULL DEFAULT 1 CHECK (weight > 0 AND weight < 'Infinity'),
  version bigint NOT NULL DEFAULT 1,
  update_time timestamptz NOT NULL DEFAULT now(),
  UNIQUE (convention_id, number),
  CHECK (planned_end IS NULL OR planned_start IS NULL OR planned_end >= planned_start),
  CHECK (NOT (continuous AND planned_end IS NOT NULL))
);
CREATE INDEX actions_convention ON actions (convention_id, seq);

CREATE TABLE fundings (
  action_id uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
  organisation_id uuid NOT NULL,
  year integer NOT NULL CHECK (year BETWEEN 1900 AND 2200),
  planned_cents bigint NOT NULL CHECK (planned_cents >= 0),
  actual_cents bigint NOT NULL CHECK (actual_cents >= 0),
  PRIMARY KEY (action_id, organisation_id, year)
);

CREATE TABLE milestones (
  action_id uuid NOT NULL REFERENCES actions (id) ON DELETE CASCADE,
  position integer NOT NULL,
  title text NOT NULL CHECK (title <> ''),
  due_date date,
  done boolean NOT NULL DEFAULT false,
  PRIMARY KEY (action_id, position)
);

-- Append-only: a correction is a new revision; rows are never updated or deleted.
CREATE TABLE progress_reports (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  action_id uuid NOT NULL REFERENCES actions (id),
  quarter_index integer NOT NULL,  -- year * 4 + quarter - 1
  revision integer NOT NULL CHECK (revision >= 1),
  status smallint NOT NULL CHECK (status BETWEEN 1 AND 7),
  completion_percent smallint NOT NULL CHECK (completion_percent BETWEEN 0 AND 100),
  implementation text NOT NULL DEFAULT '',
  progress text NOT NULL DEFAULT '',
  difficulties text NOT NULL DEFAULT '',
  next_steps text NOT NULL DEFAULT '',
  reason text NOT NULL DEFAULT '',
  author text NOT NULL,
  demonstration boolean NOT NULL DEFAULT false,
  create_time timestamptz NOT NULL DEFAULT now(),
  UNIQUE (action_id, quarter_index, revision)
);

CREATE FUNCTION refuse_report_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'progress reports are append-only' USING ERRCODE = '23514';
END $$;
CREATE TRIGGER progress_reports_append_only BEFORE UPDATE OR DELETE ON progress_reports
  FOR EACH ROW EXECUTE FUNCTION refuse_report_change();
