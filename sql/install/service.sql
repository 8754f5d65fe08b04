-- Functions the service calls (agentauth_app).  search_path is pg_catalog,
-- pg_temp in every one, so built-in functions and operators come from
-- pg_catalog only and everything else is named with its schema.  The
-- service passes its settings (limits, lifetimes); each is checked against
-- agentauth.settings, which only DB admins may change, and a value outside
-- them is refused (SQLSTATE AA001: the service answers 503 and logs it).

-- Signatures of earlier versions that changed (version 2's search and
-- impersonation took no session to check: doc/sql-admin.md §1)
DROP FUNCTION IF EXISTS agentauth.login_begin(text, text, integer, integer, integer, integer,
	integer, integer);
DROP FUNCTION IF EXISTS agentauth.login_succeeded(bigint, text, text, text, integer, integer,
	integer);
DROP FUNCTION IF EXISTS agentauth.login_failed(text, bigint, inet, text);
DROP FUNCTION IF EXISTS agentauth.agent_token_valid(bigint, bigint);
DROP FUNCTION IF EXISTS agentauth.refresh_rotate(text, text, integer, text, integer, boolean);
DROP FUNCTION IF EXISTS agentauth.impersonate(bigint, text, boolean, text, text, text, integer,
	bigint);
DROP FUNCTION IF EXISTS agentauth.count_attempt(text, text, text, integer, integer, integer);
DROP FUNCTION IF EXISTS agentauth.customer_search(text, integer, integer);
DROP FUNCTION IF EXISTS agentauth.customer_matches(text, integer, integer);
DROP FUNCTION IF EXISTS agentauth.start_impersonation(bigint, text, boolean, text, text, text,
	integer, bigint);
DROP FUNCTION IF EXISTS agentauth.impersonate(bigint, uuid, text, boolean, text, text, text,
	integer, bigint);
DROP FUNCTION IF EXISTS agentauth.impersonate(bigint, uuid, text, boolean, text, text, text,
	integer, bigint, integer);
DROP FUNCTION IF EXISTS agentauth.refresh_rotate(text, text, integer, text, integer, boolean);

-- Raises AA001 unless p_ok: a setting of the service is outside the limits
-- of agentauth.settings.
CREATE OR REPLACE FUNCTION agentauth.require_setting(p_ok boolean, p_what text) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF p_ok IS NOT TRUE THEN
		RAISE EXCEPTION 'the service''s % is outside agentauth.settings', p_what
			USING ERRCODE = 'AA001';
	END IF;
END
$$;

-- Counts one attempt on one key unless the key is blocked, in which case it
-- raises AA429 and counts nothing.
--   ip_user: p_limit failures in a window of p_window seconds, then a block
--            of p_block seconds; a window or block that is over starts anew.
--   user, ip: a budget of p_limit that drains at p_limit / p_window per
--            second: never more than p_limit attempts at once, and after
--            that one attempt per p_window / p_limit seconds, block or no
--            block.  window_start is the time of the last change.
CREATE OR REPLACE FUNCTION agentauth.count_attempt(p_scope text, p_ip text, p_user text,
	p_limit integer, p_window integer, p_block integer)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	rate float8 := p_limit::float8 / p_window;   -- budget regained per second
BEGIN
	IF p_scope = 'ip_user' THEN
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
		WHERE a.blocked_until IS NULL OR a.blocked_until <= now();
	ELSE
		-- level: what is left of the budget used, after draining since the
		-- last change; the attempt fits if level + 1 <= p_limit.  The block
		-- lasts until the next attempt fits again.
		INSERT INTO agentauth.login_attempts AS a
			(scope, client_ip, username, failures, window_start, blocked_until)
		VALUES (p_scope, p_ip, p_user, 1, now(),
			CASE WHEN p_limit <= 1 THEN now() + make_interval(secs => 1 / rate) END)
		ON CONFLICT (scope, client_ip, username) DO UPDATE SET
			failures = greatest(0, a.failures - extract(epoch FROM now() - a.window_start) * rate) + 1,
			window_start = now(),
			blocked_until = CASE
				WHEN greatest(0, a.failures - extract(epoch FROM now() - a.window_start) * rate) + 1
				     > p_limit - 1
				THEN now() + make_interval(secs => (greatest(0, a.failures -
				     extract(epoch FROM now() - a.window_start) * rate) + 2 - p_limit) / rate)
				END,
			block_logged = false
		WHERE (a.blocked_until IS NULL OR a.blocked_until <= now())
		  AND greatest(0, a.failures - extract(epoch FROM now() - a.window_start) * rate) + 1
		      <= p_limit + 1e-6;
	END IF;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'blocked' USING ERRCODE = 'AA429';
	END IF;
END
$$;

-- Starts a login.  Reserves the attempt before any password is checked:
-- counts it on the (address, username), username and address keys in one
-- statement, so parallel attempts are counted exactly and no more than the
-- limits get through.  If a key is blocked nothing is counted and
-- retry_after is the number of seconds until the longest block ends: that
-- is looked up first, in one statement, as a locked-out client may send
-- many (0.24 -> 0.14 ms a call, doc/performance.md §3.1).
-- Otherwise retry_after is 0, attempt_id names this attempt (for
-- login_failed or login_succeeded, once each), and the agent the username
-- names (ignoring case) is returned: its password hash only if it is
-- active.  hash_cost is the bcrypt cost of new hashes (settings): the
-- service re-hashes a weaker password with it at a successful login.  p_client_key is the address's counting key (an IPv6 network,
-- doc/configuration.md ipv6_prefix), p_client_ip the address itself.
-- Also removes a few expired counter rows and unfinished attempts.
CREATE OR REPLACE FUNCTION agentauth.login_begin(p_client_key text, p_username text,
	p_attempts integer, p_window integer, p_block integer,
	p_account_attempts integer, p_account_window integer, p_ip_attempts integer,
	p_client_ip text,
	OUT retry_after integer, OUT attempt_id bigint, OUT agent_id bigint,
	OUT password_hash text, OUT status text, OUT hash_cost integer)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	u text := lower(left(coalesce(p_username, ''), 255));
	ip text := coalesce(p_client_key, '');
	s agentauth.settings;
	r record;
	until timestamptz;
	logged boolean;
BEGIN
	retry_after := 0;
	FOR pass IN 1..2 LOOP
		-- a blocked key answers at once, without counting
		SELECT max(a.blocked_until), bool_and(a.block_logged) INTO until, logged
		FROM agentauth.login_attempts a
		WHERE (a.scope, a.client_ip, a.username) IN (('ip_user', ip, u), ('user', '', u), ('ip', ip, ''))
		  AND a.blocked_until > now();
		IF until IS NOT NULL THEN
			retry_after := greatest(ceil(extract(epoch FROM until - now()))::integer, 1);
			IF NOT logged THEN
				-- the first refused attempt of a block goes to the audit
				FOR r IN
					UPDATE agentauth.login_attempts a SET block_logged = true
					WHERE (a.scope, a.client_ip, a.username) IN (('ip_user', ip, u), ('user', '', u), ('ip', ip, ''))
					  AND a.blocked_until > now() AND NOT a.block_logged
					RETURNING a.scope
				LOOP
					INSERT INTO agentauth.audit_events (event, username, client_ip, reason)
					VALUES ('lockout', nullif(u, ''),
						nullif(coalesce(nullif(p_client_ip, ''), ip), '')::inet,
						CASE r.scope WHEN 'ip_user' THEN 'too many failures for this address and username'
						WHEN 'user' THEN 'too many failures for this username'
						ELSE 'too many failures from this address' END);
				END LOOP;
			END IF;
			RETURN;
		END IF;
		EXIT WHEN pass = 2;
		SELECT * INTO STRICT s FROM agentauth.settings;
		PERFORM agentauth.require_setting(p_attempts BETWEEN 1 AND s.max_lockout_attempts,
			'lockout_attempts');
		PERFORM agentauth.require_setting(p_account_attempts BETWEEN 1 AND s.max_account_lockout_attempts,
			'account_lockout_attempts');
		PERFORM agentauth.require_setting(p_ip_attempts BETWEEN 1 AND s.max_ip_lockout_attempts,
			'ip_lockout_attempts');
		PERFORM agentauth.require_setting(p_window BETWEEN s.min_lockout_window AND 86400
			AND p_account_window BETWEEN s.min_lockout_window AND 86400, 'lockout window');
		PERFORM agentauth.require_setting(p_block BETWEEN s.min_lockout_block AND 86400,
			'lockout_block');
		hash_cost := s.password_hash_cost;
		DELETE FROM agentauth.login_attempts WHERE ctid = ANY (ARRAY(
			SELECT ctid FROM agentauth.login_attempts
			WHERE window_start < now() - make_interval(secs =>
				greatest(p_window, p_account_window) + p_block)
			ORDER BY window_start LIMIT 2 FOR UPDATE SKIP LOCKED));
		DELETE FROM agentauth.login_pending WHERE id = ANY (ARRAY(
			SELECT id FROM agentauth.login_pending
			WHERE created_at < now() - interval '1 hour'
			ORDER BY created_at LIMIT 2 FOR UPDATE SKIP LOCKED));
		BEGIN
			PERFORM agentauth.count_attempt('ip_user', ip, u, p_attempts, p_window, p_block);
			PERFORM agentauth.count_attempt('user', '', u, p_account_attempts,
				p_account_window, p_block);
			PERFORM agentauth.count_attempt('ip', ip, '', p_ip_attempts, p_window, p_block);
			SELECT a.id, CASE WHEN a.status = 'active' THEN a.password_hash END, a.status
			INTO agent_id, password_hash, status
			FROM agentauth.agents a WHERE lower(a.username) = lower(p_username);
			INSERT INTO agentauth.login_pending (username, user_key, client_ip, client_key, agent_id)
			VALUES (left(coalesce(p_username, ''), 255), u, coalesce(p_client_ip, ''), ip, agent_id)
			RETURNING id INTO attempt_id;
			RETURN;
		EXCEPTION WHEN SQLSTATE 'AA429' THEN
			hash_cost := NULL;  -- blocked meanwhile: the counts of this attempt are rolled back
		END;
	END LOOP;
	retry_after := 1;
END
$$;

-- A failed login: ends the attempt that login_begin counted and writes
-- its audit row.  p_reason is one of a fixed list (doc/api.md §2.5);
-- nothing else can be written.  Returns false if
-- there is no such attempt (already ended).
CREATE OR REPLACE FUNCTION agentauth.login_failed(p_attempt_id bigint, p_reason text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	p agentauth.login_pending;
BEGIN
	IF p_reason IS NULL OR p_reason NOT IN ('username missing or not a string',
		'username empty, too long or with control characters',
		'password missing or not a string', 'password empty or with control characters',
		'unknown username', 'wrong password', 'password too long',
		'stored password hash uses a refused scheme', 'stored password hash is unusable',
		'agent is blocked', 'agent is deleted') THEN
		RAISE EXCEPTION 'login_failed: unknown reason %', p_reason USING ERRCODE = 'AA001';
	END IF;
	DELETE FROM agentauth.login_pending WHERE id = p_attempt_id RETURNING * INTO p;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
	VALUES ('login_failure', p.agent_id, nullif(p.username, ''),
		nullif(p.client_ip, '')::inet, p_reason);
	RETURN true;
END
$$;

-- A successful login of the attempt p_attempt_id: starts a session (a new
-- refresh-token family that ends p_session_max_age seconds from now,
-- rotations or not), stores its first refresh token (as its hash),
-- records last_login_at and the audit event, clears the (address,
-- username) counter and takes this attempt back from the username and
-- address budgets.  p_new_hash, when not NULL, replaces a password hash
-- weaker than the configured one (audit event password_rehashed).
-- family_id is NULL if the attempt is unknown or the agent stopped being
-- active meanwhile (then the failure is audited here).
CREATE OR REPLACE FUNCTION agentauth.login_succeeded(p_attempt_id bigint, p_token_hash text,
	p_refresh_ttl integer, p_session_max_age integer, p_new_hash text,
	p_account_attempts integer, p_ip_attempts integer,
	OUT family_id uuid, OUT agent_id bigint, OUT session_exp bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	s agentauth.settings;
	p agentauth.login_pending;
	who text;
	ends timestamptz;
BEGIN
	SELECT * INTO STRICT s FROM agentauth.settings;
	PERFORM agentauth.require_setting(p_refresh_ttl BETWEEN 1 AND s.max_refresh_token_ttl,
		'refresh_token_ttl');
	PERFORM agentauth.require_setting(p_session_max_age BETWEEN 1 AND s.max_session_max_age,
		'session_max_age');
	DELETE FROM agentauth.login_pending lp WHERE lp.id = p_attempt_id RETURNING * INTO p;
	IF NOT FOUND OR p.agent_id IS NULL THEN
		RETURN;
	END IF;
	UPDATE agentauth.agents a SET last_login_at = now()
	WHERE a.id = p.agent_id AND a.status = 'active'
	RETURNING a.username INTO who;
	IF NOT FOUND THEN
		INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
		VALUES ('login_failure', p.agent_id, nullif(p.username, ''),
			nullif(p.client_ip, '')::inet, 'agent stopped being active during login');
		RETURN;
	END IF;
	IF p_new_hash IS NOT NULL THEN
		IF p_new_hash !~ '^\$2b\$[0-9]{2}\$[./A-Za-z0-9]{53}$'
		   OR substr(p_new_hash, 5, 2)::integer < s.password_hash_cost THEN
			RAISE EXCEPTION 'login_succeeded: a new hash must be bcrypt at cost % or more',
				s.password_hash_cost USING ERRCODE = 'AA001';
		END IF;
		UPDATE agentauth.agents SET password_hash = p_new_hash WHERE id = p.agent_id;
		INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
		VALUES ('password_rehashed', p.agent_id, who, nullif(p.client_ip, '')::inet,
			'at login: bcrypt cost ' || substr(p_new_hash, 5, 2));
	END IF;
	ends := now() + make_interval(secs => p_session_max_age);
	family_id := gen_random_uuid();
	INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, session_exp, expires_at)
	VALUES (decode(p_token_hash, 'hex'), family_id, p.agent_id, ends,
		least(now() + make_interval(secs => p_refresh_ttl), ends));
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip)
	VALUES ('login_success', p.agent_id, who, nullif(p.client_ip, '')::inet);
	DELETE FROM agentauth.login_attempts
	WHERE scope = 'ip_user' AND client_ip = p.client_key AND username = p.user_key;
	UPDATE agentauth.login_attempts SET failures = greatest(failures - 1, 0),
		blocked_until = CASE WHEN failures - 1 <= CASE scope WHEN 'user'
			THEN p_account_attempts ELSE p_ip_attempts END - 1 THEN NULL ELSE blocked_until END
	WHERE failures > 0 AND ((scope = 'user' AND client_ip = '' AND username = p.user_key)
	   OR (scope = 'ip' AND client_ip = p.client_key AND username = ''));
	agent_id := p.agent_id;
	session_exp := floor(extract(epoch FROM ends))::bigint;
END
$$;

-- Is an agent token still good on agentauth's endpoints: the agent active
-- and its session (p_family, the token's "sid" claim) not revoked?  No
-- clock is compared: a session revoked is revoked, and a new login is a
-- new session.
-- (plpgsql, not sql: PostgreSQL plans a SQL function that it cannot inline,
-- as a SECURITY DEFINER one, at every call; plpgsql keeps its plans for the
-- session.  Measured: 0.40 ms a call as sql, doc/performance.md.)
-- enable_seqscan off, here and in the other functions that find tokens:
-- a worker's connection keeps its plans, and one made while refresh_tokens
-- was small (a new installation) would scan the whole table at every call
-- once it has grown, until the next ANALYZE (test_database.py
-- token_checks_use_the_index_after_the_table_grew).
CREATE OR REPLACE FUNCTION agentauth.agent_token_valid(p_agent_id bigint, p_family uuid)
RETURNS boolean
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
BEGIN
	-- one walk of the session's own rows (the family index), whatever the
	-- planner guesses for a generic plan: with "agent_id = $1" beside it,
	-- it walked every token the agent ever had (0.48 ms a call after a few
	-- thousand impersonations, doc/performance.md)
	RETURN EXISTS (SELECT 1 FROM agentauth.agents a
		WHERE a.id = p_agent_id AND a.status = 'active')
	   AND coalesce((SELECT bool_or(r.agent_id = p_agent_id AND r.customer_id IS NULL)
	                    AND bool_and(r.revoked_at IS NULL)
	                 FROM agentauth.refresh_tokens r WHERE r.family_id = p_family), false);
END
$$;

-- Ends the impersonation session p_family: revokes its tokens and writes
-- its impersonation_ended audit row, with p_reason (doc/sql-admin.md §3.1:
-- max_age, agent_token, agent, admin, agent_inactive, customer,
-- expired, idle, replaced).  Returns false,
-- and does nothing, for a session that is not an impersonation or whose
-- tokens are revoked already (ended before: no second row).
CREATE OR REPLACE FUNCTION agentauth.end_impersonation(p_family uuid, p_reason text,
	p_client_ip text)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET enable_seqscan = off AS $$
DECLARE
	t record;
	n integer;
BEGIN
	SELECT r.agent_id, r.customer_id INTO t FROM agentauth.refresh_tokens r
	WHERE r.family_id = p_family AND r.customer_id IS NOT NULL AND r.revoked_at IS NULL
	LIMIT 1;
	IF NOT FOUND THEN
		RETURN false;
	END IF;
	UPDATE agentauth.refresh_tokens SET revoked_at = now()
	WHERE family_id = p_family AND revoked_at IS NULL;
	GET DIAGNOSTICS n = ROW_COUNT;
	IF n = 0 THEN
		RETURN false;   -- ended meanwhile, by another transaction
	END IF;
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason,
		customer_id, customer_reference, session_id)
	SELECT 'impersonation_ended', t.agent_id, a.username, nullif(p_client_ip, '')::inet,
	       p_reason, t.customer_id,
	       (SELECT c.customer_reference FROM agentauth.customers c WHERE c.id = t.customer_id),
	       p_family
	FROM agentauth.agents a WHERE a.id = t.agent_id;
	RETURN true;
END
$$;

-- Ends every impersonation session of the agent that has not ended yet:
-- p_reason for a live one (a token not used, not expired); for one that is
-- over but was not audited (no refresh came after its end) the reason of
-- its end: max_age or agent_token, or expired (its refresh token ran out
-- before the session did).
CREATE OR REPLACE FUNCTION agentauth.end_impersonations_of(p_agent_id bigint, p_reason text)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT f.family_id, bool_or(f.used_at IS NULL AND f.expires_at > now()) AS live,
		       max(f.session_exp) AS session_exp, max(f.session_end) AS session_end
		FROM agentauth.refresh_tokens f
		WHERE f.agent_id = p_agent_id AND f.customer_id IS NOT NULL AND f.revoked_at IS NULL
		GROUP BY f.family_id
	LOOP
		PERFORM agentauth.end_impersonation(r.family_id, CASE WHEN r.live THEN p_reason
			WHEN r.session_exp <= now() THEN coalesce(r.session_end, 'agent_token')
			ELSE 'expired' END, NULL);
	END LOOP;
END
$$;

-- POST /refresh-tokens: uses up the presented token (by its SHA-256) and
-- stores its successor in the same family, in one transaction.  Of N
-- parallel uses of one token exactly one succeeds (the row lock decides).
-- outcome: 'ok' (agent_id, family_id, session_exp set; for an impersonation
-- session also the customer), 'invalid' (unknown, expired, revoked, the
-- session is over, or the customer can no longer be impersonated), 'grace'
-- (used less than p_grace seconds ago: refused without revoking, audited
-- as refresh_reuse_in_grace), 'replay' (used before: the whole family is
-- revoked), 'inactive' (the agent is not active), 'idle' (no refresh of the
-- session for p_idle seconds, session_idle_timeout; 0: no limit: the family
-- is revoked).  reason: an impersonation
-- session's reason (its audit row), for the token's claim.  An impersonation session
-- that ends here (over, agent inactive, customer gone) is audited as
-- impersonation_ended (end_impersonation).
CREATE OR REPLACE FUNCTION agentauth.refresh_rotate(p_token_hash text, p_new_hash text,
	p_ttl integer, p_client_ip text, p_grace integer, p_require_consent boolean,
	p_idle integer,
	OUT outcome text, OUT agent_id bigint, OUT customer_id bigint,
	OUT customer_reference text, OUT session_exp bigint, OUT family_id uuid,
	OUT reason text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' SET enable_seqscan = off AS $$
DECLARE
	s agentauth.settings;
	t record;
	ended text;     -- why an impersonation session ends here
BEGIN
	SELECT * INTO STRICT s FROM agentauth.settings;
	PERFORM agentauth.require_setting(p_ttl BETWEEN 1 AND s.max_refresh_token_ttl,
		'refresh_token_ttl');
	PERFORM agentauth.require_setting(p_grace BETWEEN 0 AND s.max_refresh_reuse_grace,
		'refresh_reuse_grace');
	PERFORM agentauth.require_setting(p_idle BETWEEN 0 AND s.max_session_max_age,
		'session_idle_timeout');
	UPDATE agentauth.refresh_tokens r SET used_at = now()
	WHERE r.token_hash = decode(p_token_hash, 'hex') AND r.used_at IS NULL
	  AND r.revoked_at IS NULL AND r.expires_at > now()
	RETURNING r.family_id, r.agent_id, r.customer_id, r.session_exp, r.session_end,
	          r.created_at INTO t;
	IF NOT FOUND THEN
		outcome := 'invalid';
		SELECT r.family_id, r.agent_id, r.used_at, r.revoked_at, r.customer_id, r.session_exp,
		       r.session_end INTO t
		FROM agentauth.refresh_tokens r WHERE r.token_hash = decode(p_token_hash, 'hex');
		IF FOUND AND t.used_at IS NOT NULL AND t.revoked_at IS NULL
		   AND t.used_at > now() - make_interval(secs => p_grace) THEN
			outcome := 'grace';
			INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
			SELECT 'refresh_reuse_in_grace', a.id, a.username, nullif(p_client_ip, '')::inet,
			       'a refresh token came back within the grace period: refused, session kept'
			FROM agentauth.agents a WHERE a.id = t.agent_id;
		ELSIF FOUND AND t.used_at IS NOT NULL THEN
			outcome := 'replay';
			UPDATE agentauth.refresh_tokens SET revoked_at = now()
			WHERE refresh_tokens.family_id = t.family_id AND revoked_at IS NULL;
			INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason)
			SELECT 'refresh_replay', a.id, a.username, nullif(p_client_ip, '')::inet,
			       'a used refresh token came back: its family is revoked'
			FROM agentauth.agents a WHERE a.id = t.agent_id;
		ELSIF FOUND AND t.revoked_at IS NULL AND t.customer_id IS NOT NULL
		      AND t.session_exp <= now() THEN
			-- the last token of an impersonation session that is over
			PERFORM agentauth.end_impersonation(t.family_id,
				coalesce(t.session_end, 'agent_token'), p_client_ip);
		END IF;
		RETURN;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM agentauth.agents a WHERE a.id = t.agent_id
	               AND a.status = 'active') THEN
		outcome := 'inactive';
		ended := 'agent_inactive';
	ELSIF t.session_exp IS NOT NULL AND t.session_exp <= now() THEN
		outcome := 'invalid';   -- the session is over
		ended := coalesce(t.session_end, 'agent_token');
	ELSIF p_idle > 0 AND t.created_at <= now() - make_interval(secs => p_idle) THEN
		-- session_idle_timeout: no refresh since this token was issued
		outcome := 'idle';
		ended := 'idle';
	ELSIF t.customer_id IS NOT NULL THEN
		SELECT c.customer_reference INTO customer_reference FROM agentauth.customers c
		WHERE c.id = t.customer_id AND c.deleted_at IS NULL
		  AND (c.allow_assistance OR NOT p_require_consent);
		outcome := CASE WHEN FOUND THEN 'ok' ELSE 'invalid' END;
		ended := 'customer';
	ELSE
		outcome := 'ok';
	END IF;
	IF outcome <> 'ok' THEN
		customer_reference := NULL;
		IF t.customer_id IS NULL OR
		   NOT agentauth.end_impersonation(t.family_id, ended, p_client_ip) THEN
			UPDATE agentauth.refresh_tokens SET revoked_at = now()
			WHERE refresh_tokens.family_id = t.family_id AND revoked_at IS NULL;
		END IF;
		RETURN;
	END IF;
	INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, customer_id,
		session_exp, session_end, expires_at)
	VALUES (decode(p_new_hash, 'hex'), t.family_id, t.agent_id, t.customer_id, t.session_exp,
		t.session_end, least(now() + make_interval(secs => p_ttl), t.session_exp));
	agent_id := t.agent_id;
	customer_id := t.customer_id;
	family_id := t.family_id;
	session_exp := floor(extract(epoch FROM t.session_exp))::bigint;
	IF t.customer_id IS NOT NULL THEN
		SELECT e.reason INTO reason FROM agentauth.audit_events e
		WHERE e.session_id = t.family_id AND e.event = 'impersonation';
	END IF;
END
$$;

-- Does the search trust agentauth.customer_prefix_counts?  Only while the
-- four triggers that keep it are on agentauth.customers and fire always
-- (schema.sql): not with a view over the shop's table, nor after an admin
-- disabled one (a later rebuild_customer_prefix_counts and install.sql
-- turn them on again).
CREATE OR REPLACE FUNCTION agentauth.customer_prefix_counts_kept() RETURNS boolean
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RETURN (SELECT count(*) = 4 FROM pg_catalog.pg_trigger t
	WHERE t.tgrelid = 'agentauth.customers'::pg_catalog.regclass AND t.tgenabled = 'A'
	  AND t.tgname IN ('customers_prefix_counts_insert', 'customers_prefix_counts_update',
	                   'customers_prefix_counts_delete', 'customers_prefix_counts_truncate'));
END
$$;

-- GET /agent-customer-search (doc/api.md §8), with the agent check of the
-- caller's token (§3.4) in the same statement: p_agent_id and p_family are
-- the token's id_agent and sid.  outcome 'token_invalid' (one row, nothing
-- else set): the agent is not active or the session is revoked, and nothing
-- was searched.  Otherwise the page [p_offset, p_offset + p_limit) of the
-- customers matching p_q in id order (outcome and total NULL), then one last
-- row with outcome 'ok' and total, the number of matches.  Prefix match
-- ignoring case on email, first and last name, exact match on the
-- reference; %, _ and \ in q match literally.
-- How it stays fast with millions of customers:
--   - the total of a q of 1 to 3 characters is read from
--     agentauth.customer_prefix_counts (migration 3), plus one for the
--     customer whose reference is q if no name or email matched it already;
--     for a longer q the count of its first 3 characters bounds it;
--   - otherwise the page comes first, and the total is counted only when the
--     page does not tell it: a page with fewer than p_limit customers that
--     is the first or not empty ends the matches, so total = p_offset +
--     its customers; a full page, or an empty one past offset 0, needs the
--     count (for the "last" link).  When more than 5000 may match (no bound,
--     or a bound over 5000) the count comes first, as it chooses the plan;
--   - a prefix is a byte range [lower(q), lower(q) with its last character
--     incremented) that the text_pattern_ops indexes serve with parameters,
--     so the statements are planned once per connection (generic plans); a
--     count is one bitmap scan over the four indexes; an early page of a
--     large result is found by walking the primary key (the first matches
--     come soon), any other page by sorting the ids from the four index scans
--     and fetching just the page; the ids are made unique by sorting
--     (enable_hashagg = off: a generic plan's hash table is sized for the
--     planner's guess, and building and walking it cost 0.1 ms a call
--     even for one match).
-- Counting a broad prefix of 4 characters or more still reads every matching
-- row (doc/performance.md).  An empty q (everyone) and a q ending in U+10FFFF
-- take the slower dynamic LIKE path.
CREATE OR REPLACE FUNCTION agentauth.customer_search(p_agent_id bigint, p_family uuid,
	p_q text, p_offset integer, p_limit integer)
RETURNS TABLE (outcome text, total bigint, customer_reference text, email text,
	first_name text, last_name text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET max_parallel_workers_per_gather = 0 SET work_mem = '32MB'
SET plan_cache_mode = force_generic_plan SET enable_hashagg = off AS $$
DECLARE
	q text := coalesce(p_q, '');
	lo text := lower(coalesce(p_q, ''));
	hi text;
	last_cp integer;
	pattern text := replace(replace(replace(lower(q), '\', '\\'), '%', '\%'), '_', '\_') || '%';
	n bigint;        -- the number of matches, once known
	bound bigint;    -- no more than this many match, when known
	got bigint;      -- customers on the page
	spread float8;
BEGIN
	IF NOT agentauth.agent_token_valid(p_agent_id, p_family) THEN
		RETURN QUERY SELECT 'token_invalid'::text, NULL::bigint, NULL::text, NULL::text,
			NULL::text, NULL::text;
		RETURN;
	END IF;
	IF lo <> '' AND ascii(right(lo, 1)) < 1114111 THEN
		last_cp := ascii(right(lo, 1)) + 1;
		IF last_cp = 55296 THEN
			last_cp := 57344;   -- skip the surrogates
		END IF;
		hi := left(lo, -1) || chr(last_cp);
		IF agentauth.customer_prefix_counts_kept() THEN
			SELECT coalesce(max(p.customers), 0) INTO bound
			FROM agentauth.customer_prefix_counts p WHERE p.prefix = left(lo, 3);
			IF length(lo) <= 3 THEN
				SELECT bound + count(*) INTO n FROM agentauth.customers c
				WHERE c.customer_reference = q AND c.deleted_at IS NULL
				  AND NOT ((lower(c.email) ~>=~ lo AND lower(c.email) ~<~ hi) OR
				           (lower(c.first_name) ~>=~ lo AND lower(c.first_name) ~<~ hi) OR
				           (lower(c.last_name) ~>=~ lo AND lower(c.last_name) ~<~ hi));
			ELSE
				bound := bound + 1;   -- the reference
			END IF;
		END IF;
		IF n IS NULL AND (bound IS NULL OR bound > 5000) THEN
			SELECT count(*) INTO n FROM agentauth.customers c WHERE c.deleted_at IS NULL AND
				((lower(c.email) ~>=~ lo AND lower(c.email) ~<~ hi) OR
				 (lower(c.first_name) ~>=~ lo AND lower(c.first_name) ~<~ hi) OR
				 (lower(c.last_name) ~>=~ lo AND lower(c.last_name) ~<~ hi) OR
				 c.customer_reference = q);
		END IF;
		IF n <= p_offset THEN
			RETURN QUERY SELECT 'ok'::text, n, NULL::text, NULL::text, NULL::text, NULL::text;
			RETURN;
		END IF;
		IF n > 5000 THEN
			SELECT reltuples INTO spread FROM pg_class
			WHERE oid = 'agentauth.customers'::regclass;
			spread := greatest(spread, 1) / n;   -- table rows per match
		END IF;
		IF n > 5000 AND (p_offset + p_limit) * spread < 20000 THEN
			-- many matches, an early page: walking the primary key finds them soon
			RETURN QUERY SELECT NULL::text, NULL::bigint, c.customer_reference, c.email, c.first_name,
				c.last_name FROM agentauth.customers c WHERE c.deleted_at IS NULL AND
				((lower(c.email) ~>=~ lo AND lower(c.email) ~<~ hi) OR
				 (lower(c.first_name) ~>=~ lo AND lower(c.first_name) ~<~ hi) OR
				 (lower(c.last_name) ~>=~ lo AND lower(c.last_name) ~<~ hi) OR
				 c.customer_reference = q)
				ORDER BY c.id LIMIT p_limit OFFSET p_offset;
		ELSE
			-- otherwise: the ids of the page from the index scans, then their rows
			RETURN QUERY SELECT NULL::text, NULL::bigint, c.customer_reference, c.email, c.first_name,
				c.last_name FROM (SELECT m.id FROM (
					SELECT x.id FROM agentauth.customers x WHERE lower(x.email) ~>=~ lo
						AND lower(x.email) ~<~ hi AND x.deleted_at IS NULL
					UNION SELECT x.id FROM agentauth.customers x WHERE lower(x.first_name) ~>=~ lo
						AND lower(x.first_name) ~<~ hi AND x.deleted_at IS NULL
					UNION SELECT x.id FROM agentauth.customers x WHERE lower(x.last_name) ~>=~ lo
						AND lower(x.last_name) ~<~ hi AND x.deleted_at IS NULL
					UNION SELECT x.id FROM agentauth.customers x WHERE x.customer_reference = q
						AND x.deleted_at IS NULL) m
				ORDER BY m.id LIMIT p_limit OFFSET p_offset) p
				JOIN agentauth.customers c ON c.id = p.id ORDER BY c.id;
		END IF;
		GET DIAGNOSTICS got = ROW_COUNT;
		IF n IS NULL AND got < p_limit AND (p_offset = 0 OR got > 0) THEN
			n := p_offset + got;   -- the page ends the matches
		ELSIF n IS NULL THEN
			SELECT count(*) INTO n FROM agentauth.customers c WHERE c.deleted_at IS NULL AND
				((lower(c.email) ~>=~ lo AND lower(c.email) ~<~ hi) OR
				 (lower(c.first_name) ~>=~ lo AND lower(c.first_name) ~<~ hi) OR
				 (lower(c.last_name) ~>=~ lo AND lower(c.last_name) ~<~ hi) OR
				 c.customer_reference = q);
		END IF;
		RETURN QUERY SELECT 'ok'::text, n, NULL::text, NULL::text, NULL::text, NULL::text;
		RETURN;
	END IF;
	-- everyone (q empty), or a q ending in the last code point: LIKE, planned
	-- per call; the page first, then the count if the page does not tell it
	RETURN QUERY EXECUTE 'SELECT NULL::text, NULL::bigint, c.customer_reference, c.email, '
		'c.first_name, c.last_name FROM agentauth.customers c WHERE c.deleted_at IS NULL '
		'AND (lower(c.email) LIKE $1 OR lower(c.first_name) LIKE $1 OR '
		'lower(c.last_name) LIKE $1 OR c.customer_reference = $2) '
		'ORDER BY c.id LIMIT $3 OFFSET $4' USING pattern, q, p_limit, p_offset;
	GET DIAGNOSTICS got = ROW_COUNT;
	IF got < p_limit AND (p_offset = 0 OR got > 0) THEN
		n := p_offset + got;
	ELSE
		EXECUTE 'SELECT count(*) FROM agentauth.customers c WHERE c.deleted_at IS NULL AND '
			'(lower(c.email) LIKE $1 OR lower(c.first_name) LIKE $1 OR lower(c.last_name) LIKE $1 '
			'OR c.customer_reference = $2)' INTO n USING pattern, q;
	END IF;
	RETURN QUERY SELECT 'ok'::text, n, NULL::text, NULL::text, NULL::text, NULL::text;
END
$$;


-- POST /agent-customer-impersonation-access-tokens, with the agent check of
-- the caller's token (doc/api.md §3.4) in the same statement: p_agent_id and
-- p_family are the token's id_agent and sid.  Finds a live customer (with
-- consent when required), starts the impersonation session (a
-- refresh-token family ending at p_session_exp, the agent token's expiry,
-- at most max_session_max_age from now) and writes the audit event.
-- outcome:
--   'token_invalid': the agent is not active or the session is revoked;
--                    nothing is stored or audited (as for the gate's
--                    refusals), nothing else is set;
--   'refused':       no such live customer (with consent when required):
--                    audited as impersonation_refused, the rest NULL;
--   'ok':            the session started (customer_id, customer_reference,
--                    family_id), audited as impersonation.
-- The token is checked before the settings, as the service's gate was.
CREATE OR REPLACE FUNCTION agentauth.impersonate(p_agent_id bigint, p_family uuid,
	p_customer_reference text, p_require_consent boolean, p_reason text,
	p_client_ip text, p_token_hash text, p_refresh_ttl integer, p_session_exp bigint,
	p_max_age integer, p_single boolean,
	OUT outcome text, OUT customer_id bigint, OUT customer_reference text, OUT family_id uuid,
	OUT session_exp bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET lock_timeout = '1s' AS $$
DECLARE
	s agentauth.settings;
	who text;
	agent_end timestamptz := to_timestamp(p_session_exp);
	ends timestamptz;
	other uuid;
BEGIN
	IF NOT agentauth.agent_token_valid(p_agent_id, p_family) THEN
		outcome := 'token_invalid';
		RETURN;
	END IF;
	SELECT * INTO STRICT s FROM agentauth.settings;
	PERFORM agentauth.require_setting(p_refresh_ttl BETWEEN 1 AND s.max_refresh_token_ttl,
		'refresh_token_ttl');
	PERFORM agentauth.require_setting(agent_end
		<= now() + make_interval(secs => s.max_session_max_age), 'session end');
	PERFORM agentauth.require_setting(p_max_age BETWEEN 60 AND s.max_session_max_age,
		'impersonation_max_age');
	IF p_single THEN
		-- one impersonation at a time: the agent's row orders its
		-- impersonations, so that each sees the one before it committed
		PERFORM 1 FROM agentauth.agents a WHERE a.id = p_agent_id FOR UPDATE;
	END IF;
	SELECT a.username INTO who FROM agentauth.agents a
	WHERE a.id = p_agent_id AND a.status = 'active';
	IF FOUND THEN
		SELECT c.id, c.customer_reference INTO customer_id, customer_reference
		FROM agentauth.customers c
		WHERE c.customer_reference = p_customer_reference AND c.deleted_at IS NULL
		  AND (c.allow_assistance OR NOT p_require_consent);
	END IF;
	IF customer_id IS NULL THEN
		outcome := 'refused';
		INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason,
			customer_reference)
		VALUES ('impersonation_refused', p_agent_id, who, nullif(p_client_ip, '')::inet,
			left(p_reason, 1000), left(p_customer_reference, 255));
		RETURN;
	END IF;
	outcome := 'ok';
	family_id := gen_random_uuid();
	-- the session ends with the agent token that started it, or
	-- impersonation_max_age after its start if that comes first
	ends := least(agent_end, now() + make_interval(secs => p_max_age));
	session_exp := floor(extract(epoch FROM ends))::bigint;
	INSERT INTO agentauth.refresh_tokens (token_hash, family_id, agent_id, customer_id,
		session_exp, session_end, expires_at)
	VALUES (decode(p_token_hash, 'hex'), family_id, p_agent_id, customer_id, ends,
		CASE WHEN ends < agent_end THEN 'max_age' END,
		least(now() + make_interval(secs => p_refresh_ttl), ends));
	INSERT INTO agentauth.audit_events (event, agent_id, username, client_ip, reason,
		customer_id, customer_reference, session_id)
	VALUES ('impersonation', p_agent_id, who, nullif(p_client_ip, '')::inet,
		left(p_reason, 1000), customer_id, customer_reference, family_id);
	IF p_single THEN
		-- the new session replaces the agent's live ones
		FOR other IN
			SELECT DISTINCT r.family_id FROM agentauth.refresh_tokens r
			WHERE r.agent_id = p_agent_id AND r.customer_id IS NOT NULL
			  AND r.revoked_at IS NULL AND r.used_at IS NULL AND r.expires_at > now()
			  AND r.family_id <> impersonate.family_id
		LOOP
			PERFORM agentauth.end_impersonation(other, 'replaced', p_client_ip);
		END LOOP;
	END IF;
END
$$;

-- DELETE /refresh-tokens/{token}: revokes the token's family if the token
-- belongs to the calling agent; other agents' tokens stay valid.  An
-- impersonation session ended so is audited as impersonation_ended, reason
-- 'agent'.
CREATE OR REPLACE FUNCTION agentauth.refresh_revoke(p_agent_id bigint, p_token_hash text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
SET enable_seqscan = off AS $$
DECLARE
	fam uuid;
	n integer;
BEGIN
	SELECT r.family_id INTO fam FROM agentauth.refresh_tokens r
	WHERE r.token_hash = decode(p_token_hash, 'hex') AND r.agent_id = p_agent_id;
	IF fam IS NULL THEN
		RETURN 0;
	END IF;
	SELECT count(*) INTO n FROM agentauth.refresh_tokens r
	WHERE r.family_id = fam AND r.revoked_at IS NULL;
	IF n > 0 AND NOT agentauth.end_impersonation(fam, 'agent', NULL) THEN
		UPDATE agentauth.refresh_tokens SET revoked_at = now()
		WHERE revoked_at IS NULL AND family_id = fam;
		GET DIAGNOSTICS n = ROW_COUNT;
	END IF;
	IF n > 0 THEN
		INSERT INTO agentauth.audit_events (event, agent_id, username, reason, session_id)
		SELECT 'tokens_revoked', a.id, a.username, 'DELETE /refresh-tokens/{token}: ' ||
		       n::text || ' token(s) of one session', fam
		FROM agentauth.agents a WHERE a.id = p_agent_id;
	END IF;
	RETURN n;
END
$$;

-- DELETE /refresh-tokens/mine: every session of the agent; its live
-- impersonation sessions end with reason 'agent' (revoke_tokens_of).
CREATE OR REPLACE FUNCTION agentauth.refresh_revoke_mine(p_agent_id bigint)
RETURNS integer
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
	SELECT agentauth.revoke_tokens_of(p_agent_id, 'DELETE /refresh-tokens/mine', 'agent');
$$;
