-- agentauth schema version 1 as released in the first commit: the upgrade test
-- installs it, then runs the current sql/install.sql over it.
-- agentauth database schema.  Idempotent: run it again to upgrade in place.
--   psql -X -v ON_ERROR_STOP=1 -d DB -f install.sql
-- Needs a role that may create schemas, roles and the pgcrypto extension.
--
-- The application connects as a LOGIN role that is a member of
-- agentauth_app; that role can only call the SECURITY DEFINER functions
-- below.  DB admins are members of agentauth_admin.  See doc/sql-admin.md.

\set ON_ERROR_STOP 1
BEGIN;

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agentauth_app') THEN
		CREATE ROLE agentauth_app NOLOGIN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agentauth_admin') THEN
		CREATE ROLE agentauth_admin NOLOGIN;
	END IF;
END
$$;

CREATE EXTENSION IF NOT EXISTS pgcrypto;
CREATE SCHEMA IF NOT EXISTS agentauth;
REVOKE ALL ON SCHEMA agentauth FROM PUBLIC;
GRANT USAGE ON SCHEMA agentauth TO agentauth_app, agentauth_admin;

CREATE TABLE IF NOT EXISTS agentauth.schema_version (
	version    integer PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS agentauth.agents (
	id                 bigserial PRIMARY KEY,
	username           text NOT NULL CHECK (username <> '' AND octet_length(username) <= 255),
	password_hash      text NOT NULL,
	first_name         text NOT NULL DEFAULT '',
	last_name          text NOT NULL DEFAULT '',
	status             text NOT NULL DEFAULT 'active'
	                   CHECK (status IN ('active', 'blocked', 'deleted')),
	last_login_at      timestamptz,
	tokens_valid_after timestamptz NOT NULL DEFAULT '-infinity',
	created_at         timestamptz NOT NULL DEFAULT now(),
	updated_at         timestamptz NOT NULL DEFAULT now()
);
-- usernames are matched ignoring case, so they are unique ignoring case
CREATE UNIQUE INDEX IF NOT EXISTS agents_username_key ON agentauth.agents (lower(username));

CREATE TABLE IF NOT EXISTS agentauth.refresh_tokens (
	id          bigserial PRIMARY KEY,
	token_hash  bytea NOT NULL UNIQUE,          -- SHA-256 of the token; never the token
	family_id   uuid NOT NULL,                  -- rotation chain
	agent_id    bigint NOT NULL REFERENCES agentauth.agents (id),
	created_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	used_at     timestamptz,
	revoked_at  timestamptz
);
CREATE INDEX IF NOT EXISTS refresh_tokens_agent_idx ON agentauth.refresh_tokens (agent_id);
CREATE INDEX IF NOT EXISTS refresh_tokens_family_idx ON agentauth.refresh_tokens (family_id);

-- Append-only record of authentication events.
CREATE TABLE IF NOT EXISTS agentauth.audit_events (
	id          bigserial PRIMARY KEY,
	occurred_at timestamptz NOT NULL DEFAULT now(),
	event       text NOT NULL,     -- login_success, login_failure, ...
	agent_id    bigint,
	username    text,
	client_ip   inet,
	reason      text
);
CREATE INDEX IF NOT EXISTS audit_events_time_idx ON agentauth.audit_events (occurred_at);

CREATE OR REPLACE FUNCTION agentauth.audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'agentauth.audit_events is append-only';
END
$$;
DROP TRIGGER IF EXISTS audit_events_append_only ON agentauth.audit_events;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON agentauth.audit_events
	FOR EACH ROW EXECUTE FUNCTION agentauth.audit_events_append_only();

-- DB admin: create an agent; the password is hashed here with bcrypt cost 12.
CREATE OR REPLACE FUNCTION agentauth.create_agent(p_username text, p_password text,
	p_first_name text DEFAULT '', p_last_name text DEFAULT '')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
	new_id bigint;
BEGIN
	IF p_password IS NULL OR p_password = '' THEN
		RAISE EXCEPTION 'the password must not be empty';
	END IF;
	IF octet_length(p_password) > 72 THEN
		RAISE EXCEPTION 'bcrypt uses only the first 72 bytes of a password; this one has %',
			octet_length(p_password);
	END IF;
	INSERT INTO agentauth.agents (username, password_hash, first_name, last_name)
	VALUES (p_username, crypt(p_password, gen_salt('bf', 12)),
		coalesce(p_first_name, ''), coalesce(p_last_name, ''))
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;

-- Application: the agent a login names (case-insensitive).
CREATE OR REPLACE FUNCTION agentauth.login_lookup(p_username text)
RETURNS TABLE (agent_id bigint, password_hash text, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT a.id, a.password_hash, a.status
	FROM agentauth.agents a
	WHERE lower(a.username) = lower(p_username);
$$;

-- Application: a successful login.  Stores the refresh token (as its hash),
-- records last_login_at and the audit event in one transaction.  Returns
-- false if the agent stopped being active meanwhile.
CREATE OR REPLACE FUNCTION agentauth.login_succeeded(p_agent_id bigint, p_client_ip inet,
	p_token_hash text, p_refresh_ttl integer)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	who text;
BEGIN
	UPDATE agentauth.agents SET last_login_at = now()
	WHERE id = p_agent_id AND status = 'active'
	RETURNING username INTO who;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, expires_at)
	VALUES (decode(p_token_hash, 'hex'), gen_random_uuid(), p_agent_id,
		now() + make_interval(secs => p_refresh_ttl));
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip)
	VALUES ('login_success', p_agent_id, who, p_client_ip);
	RETURN true;
END
$$;

-- Application: a failed login, with the reason the log also gives.
CREATE OR REPLACE FUNCTION agentauth.login_failed(p_username text, p_agent_id bigint,
	p_client_ip inet, p_reason text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
	VALUES ('login_failure', p_agent_id, left(p_username, 255), p_client_ip, p_reason);
$$;

-- Privileges: the application role calls functions and reads nothing else.
REVOKE ALL ON ALL TABLES IN SCHEMA agentauth FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentauth FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	agentauth.login_lookup(text),
	agentauth.login_succeeded(bigint, inet, text, integer),
	agentauth.login_failed(text, bigint, inet, text)
	TO agentauth_app;
GRANT EXECUTE ON FUNCTION agentauth.create_agent(text, text, text, text) TO agentauth_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA agentauth TO agentauth_admin;
GRANT INSERT, UPDATE ON agentauth.agents TO agentauth_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agentauth TO agentauth_admin;

INSERT INTO agentauth.schema_version (version) VALUES (1) ON CONFLICT DO NOTHING;

COMMIT;
