-- The collectivities' express agreements to the Caf sending a report to the CDSF (convention
-- art. 8 and 11), and the transmissions: at most one per report (a version is never sent twice).
CREATE TABLE agreements (
  report uuid NOT NULL REFERENCES reports (id),
  collectivity text NOT NULL,        -- "organisations/{uuid}" of an AO collectivity
  agreed_by text NOT NULL,           -- who expressed it (name, function)
  agreed_on date NOT NULL,
  reference text NOT NULL,           -- the deliberation or the letter
  recorded_by text NOT NULL,
  recorded_at timestamptz NOT NULL,
  seq bigserial NOT NULL,
  PRIMARY KEY (report, collectivity)
);

CREATE TABLE transmissions (
  id uuid PRIMARY KEY,
  report uuid NOT NULL UNIQUE REFERENCES reports (id),
  -- The Caf sending with the collectivities' agreement, or the signatories themselves.
  by_signatories boolean NOT NULL,
  sender text NOT NULL,              -- "organisations/{uuid}"
  sent_by text NOT NULL,             -- the token subject who recorded it
  recipient text NOT NULL,           -- "organisations/{uuid}" of the CDSF
  channel text NOT NULL,             -- "outbox", or how the signatories sent it
  package text NOT NULL,             -- the package's directory in the outbox ("" otherwise)
  manifest_sha256 text NOT NULL,
  sent_at timestamptz NOT NULL,
  acknowledged_on date,
  acknowledgement text NOT NULL DEFAULT ''
);
