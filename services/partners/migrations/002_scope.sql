-- Scope of a national deployment: the département of each organisation (a commune's comes from
-- its INSEE code) and the organisation holding each convention's permanent secretariat (art. 8).
ALTER TABLE organisations ADD COLUMN departement varchar(3)
  CHECK (departement ~ '^([0-9]{2}|2A|2B|97[1-8])$');
UPDATE organisations SET departement = CASE WHEN insee_code LIKE '97%' THEN left(insee_code, 3)
                                            ELSE left(insee_code, 2) END
  WHERE insee_code IS NOT NULL;

ALTER TABLE conventions ADD COLUMN secretariat_id uuid REFERENCES organisations (id);
UPDATE conventions SET secretariat_id = territory_id;
ALTER TABLE conventions ALTER COLUMN secretariat_id SET NOT NULL;

-- Lookups of the access rules: the conventions an organisation is a party to.
CREATE INDEX convention_parties_organisation ON convention_parties (organisation_id);
