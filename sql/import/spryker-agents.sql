-- Copies Spryker agents into agentauth.
--
--   psql -X -v ON_ERROR_STOP=1 -d DB -f sql/import/spryker-agents.sql
--
-- Run it in a database where both Spryker's spy_user table and the
-- agentauth schema are visible (the Spryker database itself after running
-- sql/install.sql there, or a database into which spy_user was copied, e.g.
-- with pg_dump -t spy_user).  Agents are the spy_user rows with
-- is_agent = true.  Their password hashes ($2y$ bcrypt, from PHP) are kept
-- as they are: agentauth verifies them.  Spryker's status (a Propel ENUM:
-- stored as 0, 1, 2, or as the words) maps to active, blocked, deleted; a
-- user without a password hash is imported with '*', which never matches.  A username that agentauth already
-- has (ignoring case) is left alone, so the script can run again.
\set ON_ERROR_STOP 1
BEGIN;

CREATE TEMPORARY TABLE spryker_agents_import ON COMMIT DROP AS
	SELECT u.username, u.password, coalesce(u.first_name, '') AS first_name,
	       coalesce(u.last_name, '') AS last_name,
	       CASE u.status::text WHEN 'active' THEN 'active' WHEN '0' THEN 'active'
	            WHEN 'blocked' THEN 'blocked' WHEN '1' THEN 'blocked'
	            ELSE 'deleted' END AS status
	FROM spy_user u
	WHERE u.is_agent AND u.username IS NOT NULL AND u.username <> '';

INSERT INTO agentauth.agents (username, password_hash, first_name, last_name, status)
SELECT DISTINCT ON (lower(username)) username, coalesce(password, '*'), first_name,
       last_name, status
FROM spryker_agents_import
ORDER BY lower(username), status = 'active' DESC
ON CONFLICT ((lower(username))) DO NOTHING;

SELECT count(*) AS spryker_agents,
       count(*) FILTER (WHERE a.id IS NOT NULL) AS present_in_agentauth
FROM spryker_agents_import i
LEFT JOIN agentauth.agents a ON lower(a.username) = lower(i.username);

COMMIT;
