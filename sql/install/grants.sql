-- Privileges and ownership.  The application role calls its functions and
-- reads nothing else; the admin role manages agents and reads everything;
-- agentauth_owner owns it all, so that the SECURITY DEFINER functions run
-- as a role that is not a superuser and can do nothing outside this schema.

-- Ownership: the schema, agentauth's own tables, sequences, views and
-- functions.  A customers view an admin put in place keeps its owner (who
-- may read the shop's table); the owner role may read it.
DO $$
DECLARE
	o record;
BEGIN
	EXECUTE 'ALTER SCHEMA agentauth OWNER TO agentauth_owner';
	FOR o IN
		SELECT c.oid::regclass AS name, c.relkind FROM pg_catalog.pg_class c
		WHERE c.relnamespace = 'agentauth'::regnamespace AND c.relkind IN ('r', 'S', 'v')
		  AND pg_catalog.pg_get_userbyid(c.relowner) <> 'agentauth_owner'
		  AND NOT (c.relkind = 'v' AND c.relname = 'customers')
		  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d   -- sequences of serials follow their table
		                  WHERE d.objid = c.oid AND d.deptype IN ('a', 'i') AND c.relkind = 'S')
	LOOP
		EXECUTE pg_catalog.format('ALTER %s %s OWNER TO agentauth_owner',
			CASE o.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, o.name);
	END LOOP;
	FOR o IN
		SELECT p.oid::regprocedure AS name FROM pg_catalog.pg_proc p
		WHERE p.pronamespace = 'agentauth'::regnamespace
		  AND pg_catalog.pg_get_userbyid(p.proowner) <> 'agentauth_owner'
	LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s OWNER TO agentauth_owner', o.name);
	END LOOP;
	IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = 'agentauth.customers'::regclass) = 'v' THEN
		GRANT SELECT ON agentauth.customers TO agentauth_owner;
	END IF;
END
$$;

REVOKE ALL ON SCHEMA agentauth FROM PUBLIC;
GRANT USAGE ON SCHEMA agentauth TO agentauth_app, agentauth_admin;
REVOKE ALL ON ALL TABLES IN SCHEMA agentauth FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentauth FROM PUBLIC;
-- left over from version 1, where the service's role could do more
REVOKE ALL ON ALL TABLES IN SCHEMA agentauth FROM agentauth_app;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentauth FROM agentauth_app;
GRANT EXECUTE ON FUNCTION
	agentauth.login_begin(text, text, integer, integer, integer, integer, integer, integer, text),
	agentauth.login_succeeded(bigint, text, integer, integer, text, integer, integer),
	agentauth.login_failed(bigint, text),
	agentauth.agent_token_valid(bigint, uuid),
	agentauth.refresh_rotate(text, text, integer, text, integer, boolean, integer),
	agentauth.customer_search(bigint, uuid, text, integer, integer),
	agentauth.impersonate(bigint, uuid, text, boolean, text, text, text, integer, bigint,
		integer, boolean),
	agentauth.refresh_revoke(bigint, text),
	agentauth.refresh_revoke_mine(bigint)
	TO agentauth_app;
GRANT EXECUTE ON FUNCTION
	agentauth.create_agent(text, text, text, text),
	agentauth.set_agent_password(text, text),
	agentauth.set_agent_status(text, text),
	agentauth.revoke_agent_tokens(text),
	agentauth.unlock(text),
	agentauth.unlock_ip(inet),
	agentauth.purge_login_attempts(interval),
	agentauth.agent_id(text),
	agentauth.rebuild_customer_prefix_counts()
	TO agentauth_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA agentauth TO agentauth_admin;
GRANT INSERT, UPDATE ON agentauth.agents TO agentauth_admin;
GRANT UPDATE ON agentauth.settings TO agentauth_admin;
-- customers: writable by admins only while it is agentauth's own table (a
-- view over the shop's table must not be written through)
DO $$
BEGIN
	IF (SELECT relkind FROM pg_catalog.pg_class WHERE oid = 'agentauth.customers'::regclass) = 'r' THEN
		GRANT INSERT, UPDATE, DELETE ON agentauth.customers TO agentauth_admin;
	END IF;
END
$$;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agentauth TO agentauth_admin;
