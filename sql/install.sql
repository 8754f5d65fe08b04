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
-- a username the service would refuse to look up cannot be stored (v2)
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'agents_username_usable') THEN
		ALTER TABLE agentauth.agents ADD CONSTRAINT agents_username_usable
			CHECK (username !~ '[[:cntrl:]]' AND btrim(username) <> '');
	END IF;
END
$$;

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
DROP TRIGGER IF EXISTS audit_events_no_truncate ON agentauth.audit_events;
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON agentauth.audit_events
	FOR EACH STATEMENT EXECUTE FUNCTION agentauth.audit_events_append_only();

-- Failed-attempt counters (CONTRACT §3).  One row per counted key:
--   scope 'ip_user': client_ip + lower(username)
--   scope 'user':    lower(username) across all addresses (client_ip '')
--   scope 'ip':      client_ip across all usernames (username '')
CREATE TABLE IF NOT EXISTS agentauth.login_attempts (
	scope         text NOT NULL CHECK (scope IN ('ip_user', 'user', 'ip')),
	client_ip     text NOT NULL,
	username      text NOT NULL,
	failures      integer NOT NULL,
	window_start  timestamptz NOT NULL,
	blocked_until timestamptz,
	block_logged  boolean NOT NULL DEFAULT false,  -- lock-out written to the audit
	PRIMARY KEY (scope, client_ip, username)
);
CREATE INDEX IF NOT EXISTS login_attempts_window_idx ON agentauth.login_attempts (window_start);

-- Keep agents.updated_at current.
CREATE OR REPLACE FUNCTION agentauth.agents_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS agents_touch ON agentauth.agents;
CREATE TRIGGER agents_touch BEFORE UPDATE ON agentauth.agents
	FOR EACH ROW EXECUTE FUNCTION agentauth.agents_touch();

-- Upgrade from version 1: login_succeeded gained arguments, and
-- login_begin replaced the lookup (and an interim login_reserve).
DROP FUNCTION IF EXISTS agentauth.login_succeeded(bigint, inet, text, integer);
DROP FUNCTION IF EXISTS agentauth.login_lookup(text);
DROP FUNCTION IF EXISTS agentauth.login_reserve(text, text, integer, integer, integer,
	integer, integer, integer);

------------------------------------------------------------------------------
-- Functions for DB admins (agentauth_admin).  See doc/sql-admin.md.

CREATE OR REPLACE FUNCTION agentauth.check_password(p_password text) RETURNS void
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF p_password IS NULL OR p_password = '' THEN
		RAISE EXCEPTION 'the password must not be empty';
	END IF;
	IF octet_length(p_password) > 72 THEN
		RAISE EXCEPTION 'bcrypt uses only the first 72 bytes of a password; this one has %',
			octet_length(p_password);
	END IF;
	-- the service refuses such passwords at login, so they could never be used
	IF p_password ~ '[[:cntrl:]]' OR btrim(p_password) = '' THEN
		RAISE EXCEPTION 'the password must not be blank or contain control characters';
	END IF;
END
$$;

-- Creates an agent; the password is hashed here with bcrypt cost 12.
CREATE OR REPLACE FUNCTION agentauth.create_agent(p_username text, p_password text,
	p_first_name text DEFAULT '', p_last_name text DEFAULT '')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
	new_id bigint;
BEGIN
	PERFORM agentauth.check_password(p_password);
	INSERT INTO agentauth.agents (username, password_hash, first_name, last_name)
	VALUES (p_username, crypt(p_password, gen_salt('bf', 12)),
		coalesce(p_first_name, ''), coalesce(p_last_name, ''))
	RETURNING id INTO new_id;
	RETURN new_id;
END
$$;

-- Looks an agent up by username, ignoring case; raises if there is none.
CREATE OR REPLACE FUNCTION agentauth.agent_id(p_username text) RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	found_id bigint;
BEGIN
	SELECT id INTO found_id FROM agentauth.agents WHERE lower(username) = lower(p_username);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no agent named %', p_username USING ERRCODE = 'no_data_found';
	END IF;
	RETURN found_id;
END
$$;

-- Sets a new password (bcrypt cost 12).  Refresh tokens stay valid; call
-- revoke_agent_tokens too if the old password may be known to someone else.
CREATE OR REPLACE FUNCTION agentauth.set_agent_password(p_username text, p_password text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
BEGIN
	PERFORM agentauth.check_password(p_password);
	UPDATE agentauth.agents SET password_hash = crypt(p_password, gen_salt('bf', 12))
	WHERE id = agentauth.agent_id(p_username);
	INSERT INTO agentauth.audit_events (event, agent_id, username, reason)
	SELECT 'password_changed', id, username, 'set_agent_password by ' || session_user
	FROM agentauth.agents WHERE id = agentauth.agent_id(p_username);
END
$$;

-- Revokes every refresh token of an agent and ends its access tokens on
-- agentauth's own endpoints (tokens issued up to this second).  Internal:
-- used by revoke_agent_tokens and refresh_revoke_mine.
CREATE OR REPLACE FUNCTION agentauth.revoke_tokens_of(p_agent_id bigint, p_reason text)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE agentauth.refresh_tokens SET revoked_at = now()
	WHERE agent_id = p_agent_id AND revoked_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	UPDATE agentauth.agents SET tokens_valid_after = now() WHERE id = p_agent_id;
	INSERT INTO agentauth.audit_events (event, agent_id, username, reason)
	SELECT 'tokens_revoked', p_agent_id, username, p_reason
	FROM agentauth.agents WHERE id = p_agent_id;
	RETURN n;
END
$$;

-- Revokes every refresh token of the agent and ends its access tokens on
-- agentauth's own endpoints.  Returns the number of tokens revoked.
CREATE OR REPLACE FUNCTION agentauth.revoke_agent_tokens(p_username text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN agentauth.revoke_tokens_of(agentauth.agent_id(p_username),
		'revoke_agent_tokens by ' || session_user);
END
$$;

-- 'active', 'blocked' or 'deleted'.  Leaving 'active' also revokes the
-- agent's tokens.
CREATE OR REPLACE FUNCTION agentauth.set_agent_status(p_username text, p_status text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	aid bigint := agentauth.agent_id(p_username);
BEGIN
	IF p_status IS NULL OR p_status NOT IN ('active', 'blocked', 'deleted') THEN
		RAISE EXCEPTION 'status must be active, blocked or deleted, not %', p_status;
	END IF;
	UPDATE agentauth.agents SET status = p_status WHERE id = aid;
	INSERT INTO agentauth.audit_events (event, agent_id, username, reason)
	SELECT 'status_changed', aid, username, p_status || ' by ' || session_user
	FROM agentauth.agents WHERE id = aid;
	IF p_status <> 'active' THEN
		PERFORM agentauth.revoke_agent_tokens(p_username);
	END IF;
END
$$;

-- Lifts every lock-out and failure count of a username (from any address).
-- Works for names that are not agents too.  Returns the rows removed.
CREATE OR REPLACE FUNCTION agentauth.unlock(p_username text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM agentauth.login_attempts
	WHERE scope IN ('ip_user', 'user') AND username = lower(p_username);
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO agentauth.audit_events (event, username, reason)
	VALUES ('unlocked', p_username, 'unlock by ' || session_user);
	RETURN n;
END
$$;

-- Lifts the lock-outs and counts of a client address or network
-- ('198.51.100.7', '2001:db8::/32'; IPv4-mapped IPv6 counts as IPv4).
-- NULL lifts those of requests whose address was unknown.
CREATE OR REPLACE FUNCTION agentauth.unlock_ip(p_client_ip inet) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	net inet := p_client_ip;
	n integer;
BEGIN
	IF family(net) = 6 AND masklen(net) >= 96 AND net <<= '::ffff:0:0/96'::inet THEN
		net := set_masklen('0.0.0.0'::inet + (host(net)::inet - '::ffff:0:0'::inet),
			masklen(net) - 96);
	END IF;
	DELETE FROM agentauth.login_attempts WHERE scope IN ('ip_user', 'ip')
		AND CASE WHEN net IS NULL THEN client_ip = ''
		         ELSE client_ip <> '' AND client_ip::inet <<= net END;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO agentauth.audit_events (event, client_ip, reason)
	VALUES ('unlocked', net, 'unlock_ip by ' || session_user);
	RETURN n;
END
$$;

-- Deletes counter rows whose window and block are over.  agentauth does
-- this a few rows at a time on every login; this is for a cron job.  Rows
-- younger than a day are kept whatever p_older_than says: a window can be
-- that long (lockout_window and account_lockout_window are at most 86400).
CREATE OR REPLACE FUNCTION agentauth.purge_login_attempts(p_older_than interval DEFAULT '1 day')
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	DELETE FROM agentauth.login_attempts
	WHERE window_start < now() - greatest(p_older_than, interval '1 day')
	  AND (blocked_until IS NULL OR blocked_until < now());
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- Who is locked out now.
CREATE OR REPLACE VIEW agentauth.current_lockouts AS
	SELECT scope, nullif(client_ip, '') AS client_ip, nullif(username, '') AS username,
	       failures, window_start, blocked_until,
	       ceil(extract(epoch FROM blocked_until - now()))::integer AS seconds_left
	FROM agentauth.login_attempts
	WHERE blocked_until > now();

-- Failed logins of the last 24 hours, per username and per address.
CREATE OR REPLACE VIEW agentauth.recent_failures_by_username AS
	SELECT lower(username) AS username, count(*) AS failures,
	       count(DISTINCT client_ip) AS addresses, max(occurred_at) AS last_failure
	FROM agentauth.audit_events
	WHERE event = 'login_failure' AND occurred_at > now() - interval '24 hours'
	GROUP BY lower(username);

CREATE OR REPLACE VIEW agentauth.recent_failures_by_ip AS
	SELECT client_ip, count(*) AS failures, count(DISTINCT lower(username)) AS usernames,
	       max(occurred_at) AS last_failure
	FROM agentauth.audit_events
	WHERE event = 'login_failure' AND occurred_at > now() - interval '24 hours'
	GROUP BY client_ip;

------------------------------------------------------------------------------
-- Functions for the application (agentauth_app).

-- Counts one attempt on one key unless the key is blocked, in which case
-- it raises AA429 and counts nothing.  A window or block that is over
-- starts a new window.
CREATE OR REPLACE FUNCTION agentauth.count_attempt(p_scope text, p_ip text, p_user text,
	p_limit integer, p_window integer, p_block integer)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	INSERT INTO agentauth.login_attempts AS a
		(scope, client_ip, username, failures, window_start, blocked_until)
	VALUES (p_scope, p_ip, p_user, 1, now(),
		CASE WHEN p_limit <= 1 THEN now() + make_interval(secs => p_block) END)
	ON CONFLICT (scope, client_ip, username) DO UPDATE SET
		failures = CASE WHEN a.window_start + make_interval(secs => p_window) <= now()
		                  OR a.blocked_until <= now() THEN 1 ELSE a.failures + 1 END,
		window_start = CASE WHEN a.window_start + make_interval(secs => p_window) <= now()
		                  OR a.blocked_until <= now() THEN now() ELSE a.window_start END,
		blocked_until = CASE WHEN (CASE WHEN a.window_start + make_interval(secs => p_window) <= now()
		                  OR a.blocked_until <= now() THEN 1 ELSE a.failures + 1 END) >= p_limit
		                THEN now() + make_interval(secs => p_block) END,
		block_logged = false
	WHERE a.blocked_until IS NULL OR a.blocked_until <= now()
	RETURNING failures INTO n;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'blocked' USING ERRCODE = 'AA429';
	END IF;
END
$$;

-- Starts a login (CONTRACT §3).  Reserves the attempt before any password
-- is checked: counts it on the (address, username), username and address
-- keys in one statement, so parallel attempts are counted exactly and no
-- more than the limit get through.  If a key is blocked nothing is counted
-- and retry_after is the number of seconds until the longest block ends;
-- otherwise retry_after is 0 and the agent the username names (ignoring
-- case) is returned, or NULLs if there is none.  Also removes a few expired
-- counter rows, so the table cannot grow without bound.
CREATE OR REPLACE FUNCTION agentauth.login_begin(p_client_ip text, p_username text,
	p_attempts integer, p_window integer, p_block integer,
	p_account_attempts integer, p_account_window integer, p_ip_attempts integer,
	OUT retry_after integer, OUT agent_id bigint, OUT password_hash text, OUT status text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	u text := lower(left(coalesce(p_username, ''), 255));
	ip text := coalesce(p_client_ip, '');
	r record;
BEGIN
	retry_after := 0;
	-- a blocked key answers at once, without counting
	PERFORM 1 FROM agentauth.login_attempts a
	WHERE (a.scope, a.client_ip, a.username) IN (('ip_user', ip, u), ('user', '', u), ('ip', ip, ''))
	  AND a.blocked_until > now();
	IF NOT FOUND THEN
		DELETE FROM agentauth.login_attempts WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM agentauth.login_attempts
			WHERE window_start < now() - make_interval(secs =>
				greatest(p_window, p_account_window) + p_block)
			ORDER BY window_start LIMIT 2 FOR UPDATE SKIP LOCKED));
		BEGIN
			PERFORM agentauth.count_attempt('ip_user', ip, u, p_attempts, p_window, p_block);
			PERFORM agentauth.count_attempt('user', '', u, p_account_attempts,
				p_account_window, p_block);
			PERFORM agentauth.count_attempt('ip', ip, '', p_ip_attempts, p_window, p_block);
			SELECT a.id, a.password_hash, a.status INTO agent_id, password_hash, status
			FROM agentauth.agents a WHERE lower(a.username) = lower(p_username);
			RETURN;
		EXCEPTION WHEN SQLSTATE 'AA429' THEN
			NULL;  -- blocked meanwhile: the counts of this attempt are rolled back
		END;
	END IF;
	retry_after := 1;
	FOR r IN
		SELECT a.scope, a.client_ip, a.username, a.blocked_until, a.block_logged
		FROM agentauth.login_attempts a
		WHERE (a.scope, a.client_ip, a.username) IN (('ip_user', ip, u), ('user', '', u), ('ip', ip, ''))
		  AND a.blocked_until > now()
	LOOP
		retry_after := greatest(retry_after,
			ceil(extract(epoch FROM r.blocked_until - now()))::integer);
		IF NOT r.block_logged THEN
			-- the first refused attempt of a block goes to the audit
			UPDATE agentauth.login_attempts SET block_logged = true
			WHERE scope = r.scope AND client_ip = r.client_ip AND username = r.username
			  AND NOT block_logged;
			IF FOUND THEN
				INSERT INTO agentauth.audit_events (event, username, client_ip, reason)
				VALUES ('lockout', nullif(u, ''), nullif(ip, '')::inet,
					CASE r.scope WHEN 'ip_user' THEN 'too many failures for this address and username'
					WHEN 'user' THEN 'too many failures for this username'
					ELSE 'too many failures from this address' END);
			END IF;
		END IF;
	END LOOP;
END
$$;

-- A successful login: stores the refresh token (as its hash), records
-- last_login_at and the audit event, clears the (address, username)
-- counter and takes this attempt back from the username and address
-- counters.  Returns false if the agent stopped being active meanwhile.
CREATE OR REPLACE FUNCTION agentauth.login_succeeded(p_agent_id bigint, p_client_ip text,
	p_username text, p_token_hash text, p_refresh_ttl integer,
	p_account_attempts integer, p_ip_attempts integer)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	who text;
	u text := lower(left(coalesce(p_username, ''), 255));
	ip text := coalesce(p_client_ip, '');
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
	VALUES ('login_success', p_agent_id, who, nullif(ip, '')::inet);
	DELETE FROM agentauth.login_attempts
	WHERE scope = 'ip_user' AND client_ip = ip AND username = u;
	UPDATE agentauth.login_attempts SET failures = failures - 1,
		blocked_until = CASE WHEN failures - 1 < CASE scope WHEN 'user'
			THEN p_account_attempts ELSE p_ip_attempts END THEN NULL ELSE blocked_until END
	WHERE failures > 0 AND ((scope = 'user' AND client_ip = '' AND username = u)
	   OR (scope = 'ip' AND client_ip = ip AND username = ''));
	RETURN true;
END
$$;

-- Is an agent token still good on agentauth's endpoints: the agent active
-- and the token (iat, whole seconds) issued after the agent's
-- tokens_valid_after second?
CREATE OR REPLACE FUNCTION agentauth.agent_token_valid(p_agent_id bigint, p_iat bigint)
RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT EXISTS (SELECT 1 FROM agentauth.agents
		WHERE id = p_agent_id AND status = 'active'
		  AND p_iat > floor(extract(epoch FROM tokens_valid_after)));
$$;

-- POST /refresh-tokens: uses up the presented token (by its SHA-256) and
-- stores its successor in the same family, in one transaction.  Of N
-- parallel uses of one token exactly one succeeds (the row lock decides).
-- outcome: 'ok' (agent_id set), 'invalid' (unknown, expired, revoked, or
-- used less than p_grace seconds ago), 'replay' (used before: the whole
-- family is revoked, RFC 9700), 'inactive' (the agent is not active).
CREATE OR REPLACE FUNCTION agentauth.refresh_rotate(p_token_hash text, p_new_hash text,
	p_ttl integer, p_client_ip text, p_grace integer,
	OUT outcome text, OUT agent_id bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	t record;
BEGIN
	UPDATE agentauth.refresh_tokens r SET used_at = now()
	WHERE r.token_hash = decode(p_token_hash, 'hex') AND r.used_at IS NULL
	  AND r.revoked_at IS NULL AND r.expires_at > now()
	RETURNING r.family_id, r.agent_id INTO t;
	IF NOT FOUND THEN
		outcome := 'invalid';
		SELECT r.family_id, r.agent_id, r.used_at, r.revoked_at INTO t
		FROM agentauth.refresh_tokens r WHERE r.token_hash = decode(p_token_hash, 'hex');
		IF FOUND AND t.used_at IS NOT NULL AND t.used_at <= now() - make_interval(secs => p_grace) THEN
			outcome := 'replay';
			UPDATE agentauth.refresh_tokens SET revoked_at = now()
			WHERE family_id = t.family_id AND revoked_at IS NULL;
			INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
			SELECT 'refresh_replay', a.id, a.username, nullif(p_client_ip, '')::inet,
			       'a used refresh token came back: its family is revoked'
			FROM agentauth.agents a WHERE a.id = t.agent_id;
		END IF;
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM agentauth.agents a WHERE a.id = t.agent_id
	               AND a.status = 'active') THEN
		outcome := 'inactive';
		UPDATE agentauth.refresh_tokens SET revoked_at = now()
		WHERE family_id = t.family_id AND revoked_at IS NULL;
		RETURN;
	END IF;
	INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, expires_at)
	VALUES (decode(p_new_hash, 'hex'), t.family_id, t.agent_id,
		now() + make_interval(secs => p_ttl));
	outcome := 'ok';
	agent_id := t.agent_id;
END
$$;

-- DELETE /refresh-tokens/{token}: revokes the token's family if the token
-- belongs to the calling agent; other agents' tokens stay valid.
CREATE OR REPLACE FUNCTION agentauth.refresh_revoke(p_agent_id bigint, p_token_hash text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	UPDATE agentauth.refresh_tokens SET revoked_at = now()
	WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM agentauth.refresh_tokens
		WHERE token_hash = decode(p_token_hash, 'hex') AND agent_id = p_agent_id);
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- DELETE /refresh-tokens/mine: every refresh token of the agent, and its
-- access tokens on agentauth's endpoints.
CREATE OR REPLACE FUNCTION agentauth.refresh_revoke_mine(p_agent_id bigint)
RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT agentauth.revoke_tokens_of(p_agent_id, 'DELETE /refresh-tokens/mine');
$$;

-- A failed login, with the reason the log also gives.  The attempt was
-- already counted by login_begin.
CREATE OR REPLACE FUNCTION agentauth.login_failed(p_username text, p_agent_id bigint,
	p_client_ip inet, p_reason text)
RETURNS void
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
	VALUES ('login_failure', p_agent_id, left(p_username, 255), p_client_ip, p_reason);
$$;

------------------------------------------------------------------------------
-- Privileges: the application role calls its functions and reads nothing
-- else; the admin role manages agents and reads everything.
REVOKE ALL ON ALL TABLES IN SCHEMA agentauth FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA agentauth FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
	agentauth.login_begin(text, text, integer, integer, integer, integer, integer, integer),
	agentauth.login_succeeded(bigint, text, text, text, integer, integer, integer),
	agentauth.login_failed(text, bigint, inet, text),
	agentauth.agent_token_valid(bigint, bigint),
	agentauth.refresh_rotate(text, text, integer, text, integer),
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
	agentauth.agent_id(text)
	TO agentauth_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA agentauth TO agentauth_admin;
GRANT INSERT, UPDATE ON agentauth.agents TO agentauth_admin;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA agentauth TO agentauth_admin;

INSERT INTO agentauth.schema_version (version) VALUES (1), (2), (3) ON CONFLICT DO NOTHING;

COMMIT;
