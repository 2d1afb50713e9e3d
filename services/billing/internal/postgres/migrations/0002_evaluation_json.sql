-- Evaluations are stored as json (their text, validated) rather than jsonb:
-- the store writes every evaluation of a rebuild and reads them back whole,
-- never inside, so jsonb's binary conversion on every write was pure cost
-- (it was most of the PostgreSQL server's time in a rebuild). SQL readers
-- keep the json operators (->, ->>) and the copied columns status ..
-- reasons; a value is now returned exactly as written.
ALTER TABLE billing.patient_months
    ALTER COLUMN evaluation TYPE json,
    ALTER COLUMN billed_evaluation TYPE json;
