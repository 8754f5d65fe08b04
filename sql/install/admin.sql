-- Functions and views for DB admins (agentauth_admin); doc/sql-admin.md.
-- Every function: search_path = pg_catalog, pg_temp, every other object
-- named with its schema, text built from text (session_user::text).

-- hash_password(p): a bcrypt hash at agentauth.settings.password_hash_cost.
-- pgcrypto lives wherever the database has it (often public); its schema
-- is looked up here, once, and written into the function, so that nothing
-- is ever looked up through a schema others may create objects in.
DO $$
DECLARE
	s name := (SELECT n.nspname FROM pg_catalog.pg_extension e
		JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgcrypto');
BEGIN
	EXECUTE pg_catalog.format($f$
		CREATE OR REPLACE FUNCTION agentauth.hash_password(p_password text) RETURNS text
		LANGUAGE sql VOLATILE SET search_path = pg_catalog, pg_temp AS
		'SELECT %1$I.crypt(p_password, %1$I.gen_salt(''bf''::text,
			(SELECT s.password_hash_cost FROM agentauth.settings s)))'$f$, s);
END
$$;

CREATE OR REPLACE FUNCTION agentauth.check_password(p_password text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF p_password IS NULL OR p_password = '' THEN
		RAISE EXCEPTION 'the password must not be empty';
	END IF;
	IF pg_catalog.octet_length(p_password) > 72 THEN
		RAISE EXCEPTION 'bcrypt uses only the first 72 bytes of a password; this one has %',
			pg_catalog.octet_length(p_password);
	END IF;
	-- the service refuses such passwords at login, so they could never be used
	IF p_password ~ '[[:cntrl:]]' OR pg_catalog.btrim(p_password) = '' THEN
		RAISE EXCEPTION 'the password must not be blank or contain control characters';
	END IF;
END
$$;

-- Creates an agent; the password is hashed here (bcrypt, settings' cost).
CREATE OR REPLACE FUNCTION agentauth.create_agent(p_username text, p_password text,
	p_first_name text DEFAULT '', p_last_name text DEFAULT '')
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	new_id bigint;
BEGIN
	PERFORM agentauth.check_password(p_password);
	INSERT INTO agentauth.agents (username, password_hash, first_name, last_name)
	VALUES (p_username, agentauth.hash_password(p_password),
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
	SELECT a.id INTO found_id FROM agentauth.agents a
	WHERE pg_catalog.lower(a.username) = pg_catalog.lower(p_username);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no agent named %', p_username USING ERRCODE = 'no_data_found';
	END IF;
	RETURN found_id;
END
$$;

-- Sets a new password.  Refresh tokens stay valid; call
-- revoke_agent_tokens too if the old password may be known to someone else.
CREATE OR REPLACE FUNCTION agentauth.set_agent_password(p_username text, p_password text)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	aid bigint := agentauth.agent_id(p_username);
BEGIN
	PERFORM agentauth.check_password(p_password);
	UPDATE agentauth.agents SET password_hash = agentauth.hash_password(p_password)
	WHERE id = aid;
	INSERT INTO agentauth.audit_events (event, agent_id, username, reason)
	SELECT 'password_changed', a.id, a.username,
		'set_agent_password by ' OPERATOR(pg_catalog.||) session_user::text
	FROM agentauth.agents a WHERE a.id = aid;
END
$$;

-- Revokes every session (refresh-token family) of an agent; its access
-- tokens stop working on agentauth's endpoints with their session.
-- Internal: used by revoke_agent_tokens (p_ended 'admin') and
-- refresh_revoke_mine ('agent').  Its impersonation sessions that have not
-- ended are audited first as impersonation_ended, p_ended for a live one
-- (end_impersonations_of).  Returns the number of tokens it found not
-- revoked.
DROP FUNCTION IF EXISTS agentauth.revoke_tokens_of(bigint, text);
CREATE OR REPLACE FUNCTION agentauth.revoke_tokens_of(p_agent_id bigint, p_reason text,
	p_ended text)
RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
BEGIN
	SELECT count(*) INTO n FROM agentauth.refresh_tokens r
	WHERE r.agent_id = p_agent_id AND r.revoked_at IS NULL;
	PERFORM agentauth.end_impersonations_of(p_agent_id, p_ended);
	UPDATE agentauth.refresh_tokens SET revoked_at = pg_catalog.now()
	WHERE agent_id = p_agent_id AND revoked_at IS NULL;
	INSERT INTO agentauth.audit_events (event, agent_id, username, reason)
	SELECT 'tokens_revoked', p_agent_id, a.username, p_reason
	FROM agentauth.agents a WHERE a.id = p_agent_id;
	RETURN n;
END
$$;

-- Revokes every session of the agent.  Returns the number of refresh
-- tokens revoked.
CREATE OR REPLACE FUNCTION agentauth.revoke_agent_tokens(p_username text) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN agentauth.revoke_tokens_of(agentauth.agent_id(p_username),
		'revoke_agent_tokens by ' OPERATOR(pg_catalog.||) session_user::text, 'admin');
END
$$;

-- 'active', 'blocked' or 'deleted'.  Leaving 'active' also revokes the
-- agent's sessions.
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
	SELECT 'status_changed', aid, a.username,
		p_status OPERATOR(pg_catalog.||) ' by ' OPERATOR(pg_catalog.||) session_user::text
	FROM agentauth.agents a WHERE a.id = aid;
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
	WHERE scope IN ('ip_user', 'user') AND username = pg_catalog.lower(p_username);
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO agentauth.audit_events (event, username, reason)
	VALUES ('unlocked', p_username, 'unlock by ' OPERATOR(pg_catalog.||) session_user::text);
	RETURN n;
END
$$;

-- Lifts the lock-outs and counts of a client address or network
-- ('198.51.100.7', '2001:db8::/32'; IPv4-mapped IPv6 counts as IPv4).
-- IPv6 clients are counted by network (the service's ipv6_prefix): any
-- counter inside p_client_ip, or whose network holds it, is removed.
-- NULL lifts those of requests whose address was unknown.
CREATE OR REPLACE FUNCTION agentauth.unlock_ip(p_client_ip inet) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	net inet := p_client_ip;
	n integer;
BEGIN
	IF pg_catalog.family(net) = 6 AND pg_catalog.masklen(net) >= 96
	   AND net <<= '::ffff:0:0/96'::inet THEN
		net := pg_catalog.set_masklen('0.0.0.0'::inet +
			(pg_catalog.host(net)::inet - '::ffff:0:0'::inet), pg_catalog.masklen(net) - 96);
	END IF;
	DELETE FROM agentauth.login_attempts WHERE scope IN ('ip_user', 'ip')
		AND CASE WHEN net IS NULL THEN client_ip = ''
		         ELSE client_ip <> '' AND (client_ip::inet <<= net OR net <<= client_ip::inet) END;
	GET DIAGNOSTICS n = ROW_COUNT;
	INSERT INTO agentauth.audit_events (event, client_ip, reason)
	VALUES ('unlocked', net, 'unlock_ip by ' OPERATOR(pg_catalog.||) session_user::text);
	RETURN n;
END
$$;

-- Deletes counter rows whose window and block are over, and login
-- attempts left unfinished (a worker that died mid-login).  agentauth
-- does this a few rows at a time on every login; this is for a cron job.
-- Rows younger than a day are kept whatever p_older_than says: a window
-- can be that long (lockout_window and account_lockout_window are at most
-- 86400).
CREATE OR REPLACE FUNCTION agentauth.purge_login_attempts(p_older_than interval DEFAULT '1 day')
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	n integer;
	m integer;
BEGIN
	DELETE FROM agentauth.login_attempts
	WHERE window_start < pg_catalog.now() - greatest(p_older_than, interval '1 day')
	  AND (blocked_until IS NULL OR blocked_until < pg_catalog.now());
	GET DIAGNOSTICS n = ROW_COUNT;
	DELETE FROM agentauth.login_pending WHERE created_at < pg_catalog.now() - interval '1 hour';
	GET DIAGNOSTICS m = ROW_COUNT;
	RETURN n + m;
END
$$;

-- Counts again, from scratch, the live customers of every prefix of 1 to 3
-- characters (agentauth.customer_prefix_counts, doc/sql-admin.md §3.9);
-- returns the number of prefixes.  install.sql runs it at every run.  Run it
-- after customers were written while the counting triggers did not fire (a
-- load with the triggers disabled, pg_restore --disable-triggers).  Writers
-- of customers wait until it commits; searches go on with the old counts.
-- With agentauth.customers a view there is nothing to count: it removes
-- the counts and returns 0.
CREATE OR REPLACE FUNCTION agentauth.rebuild_customer_prefix_counts() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0 SET work_mem = '64MB' AS $$
DECLARE
	n bigint;
BEGIN
	IF (SELECT c.relkind FROM pg_catalog.pg_class c
	    WHERE c.oid = 'agentauth.customers'::pg_catalog.regclass) <> 'r' THEN
		DELETE FROM agentauth.customer_prefix_counts;
		RETURN 0;
	END IF;
	-- no customer changes meanwhile (the triggers of one that is under way
	-- have run when its transaction commits, before this lock is granted)
	LOCK TABLE agentauth.customers IN SHARE MODE;
	DELETE FROM agentauth.customer_prefix_counts;
	INSERT INTO agentauth.customer_prefix_counts (prefix, customers)
	SELECT p.prefix, pg_catalog.sum(d.n) FROM (
		SELECT pg_catalog.left(pg_catalog.lower(c.email), 3) e,
		       pg_catalog.left(pg_catalog.lower(c.first_name), 3) f,
		       pg_catalog.left(pg_catalog.lower(c.last_name), 3) l, pg_catalog.count(*) n
		FROM agentauth.customers c WHERE c.deleted_at IS NULL GROUP BY 1, 2, 3) d,
		agentauth.customer_prefixes(d.e, d.f, d.l) p(prefix)
	GROUP BY p.prefix;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n;
END
$$;

-- Who is locked out now.
CREATE OR REPLACE VIEW agentauth.current_lockouts AS
	SELECT scope, nullif(client_ip, '') AS client_ip,
	       nullif(username, '') AS username,
	       pg_catalog.ceil(failures)::integer AS failures, window_start, blocked_until,
	       pg_catalog.ceil(pg_catalog.date_part('epoch', blocked_until - pg_catalog.now()))::integer
	           AS seconds_left
	FROM agentauth.login_attempts
	WHERE blocked_until > pg_catalog.now();

-- Failed logins of the last 24 hours, per username and per address.
CREATE OR REPLACE VIEW agentauth.recent_failures_by_username AS
	SELECT pg_catalog.lower(username) AS username, pg_catalog.count(*) AS failures,
	       pg_catalog.count(DISTINCT client_ip) AS addresses,
	       pg_catalog.max(occurred_at) AS last_failure
	FROM agentauth.audit_events
	WHERE event = 'login_failure' AND occurred_at > pg_catalog.now() - interval '24 hours'
	GROUP BY pg_catalog.lower(username);

CREATE OR REPLACE VIEW agentauth.recent_failures_by_ip AS
	SELECT client_ip, pg_catalog.count(*) AS failures,
	       pg_catalog.count(DISTINCT pg_catalog.lower(username)) AS usernames,
	       pg_catalog.max(occurred_at) AS last_failure
	FROM agentauth.audit_events
	WHERE event = 'login_failure' AND occurred_at > pg_catalog.now() - interval '24 hours'
	GROUP BY client_ip;

-- Agents whose password hash is weaker than new hashes are
-- (settings.password_hash_cost, bcrypt), or that cannot log in at all.
-- The service re-hashes such a password at the agent's next successful
-- login (audit event password_rehashed); set_agent_password fixes it now.
--   hash_scheme: bcrypt, yescrypt, sha512crypt, md5crypt, descrypt, ...
--   hash_cost:   bcrypt's cost, NULL for other schemes
--   why:         'weaker cost', 'other scheme' or 'refused scheme'
CREATE OR REPLACE VIEW agentauth.weak_password_hashes AS
	SELECT a.id, a.username, a.status, h.scheme AS hash_scheme, h.cost AS hash_cost,
	       CASE WHEN h.scheme = 'bcrypt' THEN 'weaker cost'
	            WHEN h.scheme IN ('yescrypt', 'sha512crypt') THEN 'other scheme'
	            ELSE 'refused scheme' END AS why
	FROM agentauth.agents a
	CROSS JOIN LATERAL (SELECT
		CASE WHEN a.password_hash ~ '^\$2[aby]\$[0-9]{2}\$' THEN 'bcrypt'
		     WHEN a.password_hash LIKE '$y$%' THEN 'yescrypt'
		     WHEN a.password_hash LIKE '$6$%' THEN 'sha512crypt'
		     WHEN a.password_hash LIKE '$5$%' THEN 'sha256crypt'
		     WHEN a.password_hash LIKE '$1$%' THEN 'md5crypt'
		     WHEN a.password_hash LIKE '$%' THEN 'unknown'
		     WHEN a.password_hash = '' OR a.password_hash ~ '^[*!]' THEN 'disabled'
		     ELSE 'descrypt' END AS scheme,
		CASE WHEN a.password_hash ~ '^\$2[aby]\$[0-9]{2}\$'
		     THEN pg_catalog.substr(a.password_hash, 5, 2)::integer END AS cost) h
	CROSS JOIN agentauth.settings s
	WHERE a.status <> 'deleted'
	  AND (h.scheme <> 'bcrypt' OR h.cost < s.password_hash_cost
	       OR a.password_hash LIKE '$2a$%');

-- The prefix counts of migration 3, made again from the customers at every
-- run of install.sql (a bulk load without the triggers, an upgrade).
DO $$
BEGIN
	PERFORM agentauth.rebuild_customer_prefix_counts();
END
$$;
