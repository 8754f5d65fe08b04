-- agentauth database schema, functions and roles.  Idempotent: run it
-- again to upgrade in place.  One command, from any directory:
--   psql -X -v ON_ERROR_STOP=1 -d DB -f /path/to/sql/install.sql
-- Run it as a superuser (it creates roles and sets their attributes).
-- The parts below are included from install/ beside this file: keep them
-- together (make install puts them in $(pkgdatadir)/sql/install).
--
-- The parts, in order (doc/sql-admin.md describes every object):
--   install/roles.sql     the roles: owner, application, admin
--   install/schema.sql    tables, numbered migrations (schema_version)
--   install/admin.sql     functions and views for DB admins
--   install/service.sql   functions the service calls
--   install/grants.sql    privileges and ownership
-- Every function runs with search_path = pg_catalog, pg_temp and names
-- every other object with its schema; the SECURITY DEFINER ones belong to
-- the role agentauth_owner, which is not a superuser (doc/security.md).

\set ON_ERROR_STOP 1
SET client_min_messages = warning;
BEGIN;
-- pgcrypto (crypt, gen_salt for admins' hashes) goes where the database
-- puts extensions by default, or stays where it is
CREATE EXTENSION IF NOT EXISTS pgcrypto;
-- from here on nothing is looked up outside pg_catalog: a function or
-- operator someone planted in public cannot be bound into our views
SET LOCAL search_path = pg_catalog, pg_temp;
\ir install/roles.sql
\ir install/schema.sql
\ir install/admin.sql
\ir install/service.sql
\ir install/grants.sql
COMMIT;
