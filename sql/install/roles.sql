-- Roles (doc/sql-admin.md §2).
--   agentauth_owner  owns the schema and everything in it, so the SECURITY
--                    DEFINER functions run with its rights: not a superuser,
--                    cannot log in, no rights outside the schema
--   agentauth_app    the service's login role is a member; may only call
--                    the service functions
--   agentauth_admin  DB admins are members; manage agents, read everything
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'agentauth_owner') THEN
		CREATE ROLE agentauth_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'agentauth_app') THEN
		CREATE ROLE agentauth_app NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'agentauth_admin') THEN
		CREATE ROLE agentauth_admin NOLOGIN;
	END IF;
END
$$;
-- an owner that was made a superuser or given other powers gets them taken back
ALTER ROLE agentauth_owner NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
