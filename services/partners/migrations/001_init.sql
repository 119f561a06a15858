-- Partners service schema. Runs with search_path set to the service's own schema.
-- Enumerations are stored as the proto enum numbers (smallint) and checked here.

CREATE TABLE organisations (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 8),
  display_name text NOT NULL CHECK (display_name <> ''),
  siren char(9),
  insee_code varchar(5),
  parent_epci uuid REFERENCES organisations (id),
  ao_competence_transferred boolean NOT NULL DEFAULT false,
  version bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organisations_siren ON organisations (siren) WHERE siren IS NOT NULL;
CREATE UNIQUE INDEX organisations_insee ON organisations (insee_code) WHERE insee_code IS NOT NULL;
CREATE INDEX organisations_parent ON organisations (parent_epci, seq);
CREATE INDEX organisations_kind ON organisations (kind, seq);

CREATE TABLE legal_populations (
  organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
  vintage integer NOT NULL CHECK (vintage BETWEEN 1900 AND 2200),
  municipale bigint NOT NULL CHECK (municipale >= 0),
  totale bigint NOT NULL CHECK (totale >= 0),
  PRIMARY KEY (organisation_id, vintage)
);

CREATE TABLE representatives (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  person_name text NOT NULL CHECK (person_name <> ''),
  title text NOT NULL CHECK (title <> ''),
  mandate_start date,
  mandate_end date,
  version bigint NOT NULL DEFAULT 1,
  CHECK (mandate_end IS NULL OR mandate_start IS NULL OR mandate_end >= mandate_start)
);
CREATE INDEX representatives_org ON representatives (organisation_id, seq);

CREATE TABLE conventions (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  title text NOT NULL CHECK (title <> ''),
  territory_id uuid NOT NULL REFERENCES organisations (id),
  start_date date NOT NULL,
  end_date date NOT NULL,
  termination_ground smallint CHECK (termination_ground BETWEEN 1 AND 3),
  termination_initiated_by uuid REFERENCES organisations (id),
  termination_notice_date date,
  termination_effective_date date,
  termination_reason text,
  version bigint NOT NULL DEFAULT 1,
  create_time timestamptz NOT NULL DEFAULT now(),
  update_time timestamptz NOT NULL DEFAULT now(),
  CHECK (end_date >= start_date)
);
CREATE INDEX conventions_territory ON conventions (territory_id, seq);

CREATE TABLE convention_parties (
  convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  position integer NOT NULL,
  PRIMARY KEY (convention_id, organisation_id)
);

-- Designated signers of a party (the Caf has two). No row: any representative may sign.
CREATE TABLE convention_party_signers (
  convention_id uuid NOT NULL,
  organisation_id uuid NOT NULL,
  representative_id uuid NOT NULL REFERENCES representatives (id),
  PRIMARY KEY (convention_id, organisation_id, representative_id),
  FOREIGN KEY (convention_id, organisation_id)
    REFERENCES convention_parties (convention_id, organisation_id) ON DELETE CASCADE
);

CREATE TABLE signatures (
  convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
  organisation_id uuid NOT NULL REFERENCES organisations (id),
  representative_id uuid NOT NULL REFERENCES representatives (id),
  signed_on date NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (convention_id, representative_id)
);

CREATE TABLE amendments (
  convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
  number integer NOT NULL CHECK (number >= 1),
  signed_on date NOT NULL,
  changes text[] NOT NULL CHECK (cardinality(changes) >= 1),
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (convention_id, number)
);

CREATE TABLE copil_members (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  convention_id uuid NOT NULL REFERENCES conventions (id) ON DELETE CASCADE,
  college smallint NOT NULL CHECK (college BETWEEN 1 AND 6),
  organisation_id uuid REFERENCES organisations (id),
  person_name text NOT NULL CHECK (person_name <> ''),
  role smallint NOT NULL CHECK (role BETWEEN 1 AND 3)
);
CREATE INDEX copil_members_convention ON copil_members (convention_id, seq);

CREATE TABLE facilities (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  seq bigserial NOT NULL UNIQUE,
  kind smallint NOT NULL CHECK (kind BETWEEN 1 AND 10),
  display_name text NOT NULL CHECK (display_name <> ''),
  manager_id uuid NOT NULL REFERENCES organisations (id),
  commune_id uuid NOT NULL REFERENCES organisations (id),
  capacity integer NOT NULL CHECK (capacity >= 0),
  supporting_ao_id uuid REFERENCES organisations (id),
  opening_date date,
  closing_date date,
  version bigint NOT NULL DEFAULT 1,
  CHECK (closing_date IS NULL OR opening_date IS NULL OR closing_date >= opening_date)
);
CREATE INDEX facilities_commune ON facilities (commune_id, seq);
