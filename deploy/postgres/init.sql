-- Runs once, when the postgres data volume is still empty: the postgres image
-- executes /docker-entrypoint-initdb.d/*.sql with psql as the superuser.
--
-- Creates the login role "carelog" (password from the container's
-- CARELOG_DB_PASSWORD) and the database "carelog" owned by it, so that Carelog
-- does not run as a superuser. As the database owner, carelog may create the
-- projection tables and checkpoints in schema public (PostgreSQL 15 and later
-- give CREATE on public only to the database owner).
--
-- Changing CARELOG_DB_PASSWORD later does not re-run this file; use
--   ALTER ROLE carelog PASSWORD '...';

\set ON_ERROR_STOP on
\getenv carelog_password CARELOG_DB_PASSWORD
\if :{?carelog_password}
\else
DO $$ BEGIN RAISE EXCEPTION 'init.sql: CARELOG_DB_PASSWORD is not set'; END $$;
\endif

CREATE ROLE carelog LOGIN PASSWORD :'carelog_password';
CREATE DATABASE carelog OWNER carelog;
REVOKE ALL ON DATABASE carelog FROM PUBLIC;
ALTER DATABASE carelog SET timezone TO 'UTC';
