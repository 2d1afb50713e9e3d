-- Billing read models (services/billing/internal/readmodel). Every table is
-- derived from the event log and can be rebuilt from sequence 1.
--
-- Text keys use COLLATE "C" so that ORDER BY is byte order, the order of the
-- in-memory store, whatever the database's default collation.
--
-- Instants are timestamptz (UTC, microseconds) plus a *_nanos column holding
-- the nanoseconds below the microsecond (0-999), so that a read returns the
-- instant that was written; SQL readers can ignore the *_nanos columns.

-- The checkpoint: the last log sequence whose changes are in the tables,
-- updated in the same transaction as the rows.
CREATE TABLE billing.billing_checkpoint (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    through bigint  NOT NULL CHECK (through >= 0)
);
INSERT INTO billing.billing_checkpoint (id, through) VALUES (true, 0);

-- One evaluated patient-month. status .. reasons are copied from evaluation
-- for SQL readers; reads return evaluation itself.
CREATE TABLE billing.patient_months (
    patient_id        text COLLATE "C" NOT NULL,
    month             text COLLATE "C" NOT NULL, -- YYYY-MM
    status            text    NOT NULL,
    program           text    NOT NULL,
    pathway           text    NOT NULL,
    counted_minutes   integer NOT NULL,
    reasons           text[]  NOT NULL, -- reason codes, in evaluation order
    batch_id          text COLLATE "C", -- NULL unless billed
    as_of_sequence    bigint  NOT NULL,
    evaluation        jsonb   NOT NULL, -- rules.Evaluation
    billed_evaluation jsonb,            -- rules.Evaluation as billed
    -- The key is (patient_id, month); month first so that a month's rows are
    -- read in patient order straight from the index.
    PRIMARY KEY (month, patient_id)
);
CREATE INDEX patient_months_month_status ON billing.patient_months (month, status);

-- Logged and counted minutes of a patient-month by program and role.
CREATE TABLE billing.minute_totals (
    patient_id text COLLATE "C" NOT NULL,
    month      text COLLATE "C" NOT NULL,
    program    text COLLATE "C" NOT NULL,
    role       text COLLATE "C" NOT NULL,
    minutes    integer NOT NULL,
    counted    integer NOT NULL,
    PRIMARY KEY (month, patient_id, program, role)
);

-- Closed claim batches.
CREATE TABLE billing.batches (
    id              text COLLATE "C" PRIMARY KEY,
    month           text COLLATE "C" NOT NULL,
    closed_at       timestamptz,
    closed_at_nanos smallint NOT NULL DEFAULT 0,
    log_sequence    bigint   NOT NULL,
    content_hash    text     NOT NULL,
    lines           jsonb    NOT NULL, -- []readmodel.BatchLine
    totals          jsonb    NOT NULL, -- readmodel.BatchTotals
    event_id        text     NOT NULL,
    sequence        bigint   NOT NULL
);
CREATE INDEX batches_month_log_sequence ON billing.batches (month, log_sequence, id);

-- The enrollment and dropout funnel, one row per patient.
CREATE TABLE billing.patients (
    patient_id               text COLLATE "C" PRIMARY KEY,
    enrolled_at              timestamptz,
    enrolled_at_nanos        smallint NOT NULL DEFAULT 0,
    billing_practitioner_npi text     NOT NULL,
    qualifying_conditions    integer  NOT NULL,
    consent_status           text     NOT NULL, -- none, granted, declined, revoked
    consented_at             timestamptz,
    consented_at_nanos       smallint NOT NULL DEFAULT 0,
    declined_at              timestamptz,
    declined_at_nanos        smallint NOT NULL DEFAULT 0,
    revoked_at               timestamptz,
    revoked_at_nanos         smallint NOT NULL DEFAULT 0,
    care_plan_at             timestamptz,
    care_plan_at_nanos       smallint NOT NULL DEFAULT 0,
    copy_provided_at         timestamptz,
    copy_provided_at_nanos   smallint NOT NULL DEFAULT 0,
    first_billed_month       text,     -- YYYY-MM, NULL before the first bill
    deceased_date            text      -- YYYY-MM-DD, NULL while alive
);
