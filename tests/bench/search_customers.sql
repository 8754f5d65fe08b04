-- One million generated customers for tests/bench/search.sh (and api.sh), in
-- one INSERT ... SELECT (ids 1..1000000, references DE--<id>); another count
-- with -v customers=N.
--   psql -X -v ON_ERROR_STOP=1 -d agentauth -f search_customers.sql
--   psql -X -d agentauth -c 'VACUUM (ANALYZE) agentauth.customers'
-- (statistics for the planner, and the visibility map for index-only scans)
-- Needs an empty agentauth.customers.  Not a fixture of the test suite.
--
-- Names: 288 first names (24 stems x 12 endings, 2 stems start with "A":
-- 8.3 %) and 300 last names (20 stems x 15 endings, 1 stem starts with "A":
-- 5 %), drawn uniformly; so q=a matches 1 - 0.917 * 0.95 = 12.9 % of the
-- customers (the email starts with the first name).  288 * 300 = 86 400
-- name pairs: a full "firstname.lastname" prefix matches about 12 customers.
-- Emails firstname.lastnameNNN@domainK.example (NNN 1..999, K 1..20); 70 %
-- allow assistance; 1 % are deleted (deleted_at set: no search finds them).
-- setseed makes the data the same on every run.
\set ON_ERROR_STOP 1
\if :{?customers}
\else
\set customers 1000000
\endif
SELECT setseed(0.4242);
WITH f AS (
	SELECT array_agg(s || e ORDER BY s, e) AS names
	FROM unnest(ARRAY['Al', 'An', 'Ben', 'Car', 'Dan', 'El', 'Fel', 'Gre', 'Hel', 'Is',
		'Jan', 'Kar', 'Len', 'Mar', 'Nor', 'Ol', 'Paul', 'Ros', 'Sab', 'Tim', 'Ul', 'Vic',
		'Wil', 'Zo']) s,
	     unnest(ARRAY['a', 'ina', 'ia', 'ella', 'ette', 'o', 'us', 'ian', 'en', 'ie', 'iel',
		'is']) e
), l AS (
	SELECT array_agg(s || e ORDER BY s, e) AS names
	FROM unnest(ARRAY['Ander', 'Bauer', 'Berg', 'Brandt', 'Fischer', 'Hoff', 'Kell', 'Klein',
		'Koch', 'Lang', 'Meier', 'Neu', 'Richter', 'Schmidt', 'Schulz', 'Stein', 'Vogel',
		'Wagner', 'Weber', 'Zimmer']) s,
	     unnest(ARRAY['', 'mann', 'er', 's', 'sen', 'feld', 'hausen', 'ing', 'son', 'berg',
		'ke', 'ow', 'ski', 'ley', 'ton']) e
), drawn AS (
	SELECT i,
	       f.names[1 + floor(random() * cardinality(f.names))::int] AS fn,
	       l.names[1 + floor(random() * cardinality(l.names))::int] AS ln
	FROM generate_series(1, :customers) i, f, l
)
INSERT INTO agentauth.customers (id, customer_reference, email, first_name, last_name,
	allow_assistance, deleted_at)
SELECT i, 'DE--' || i,
       lower(fn) || '.' || lower(ln) || (1 + floor(random() * 999))::int
	   || '@domain' || (1 + i % 20) || '.example',
       fn, ln, random() < 0.7,
       CASE WHEN i % 100 = 37 THEN now() - interval '30 days' END
FROM drawn;
SELECT setval(pg_get_serial_sequence('agentauth.customers', 'id'), :customers);
