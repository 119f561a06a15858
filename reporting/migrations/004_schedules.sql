-- A convention's own calendar of reports, when it differs from the default one (an annual review
-- at each year's end, the bilan intermédiaire at mid-term, the bilan final at the end).
CREATE TABLE report_schedules (
  convention text PRIMARY KEY,       -- "conventions/{uuid}"
  annual_reviews boolean NOT NULL,
  intermediate_date date,            -- NULL: mid-term
  final_date date,                   -- NULL: the convention's end
  version bigint NOT NULL DEFAULT 1  -- the etag's version
);
