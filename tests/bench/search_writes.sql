-- The write cost of the prefix counts (doc/sql-admin.md §3.9): bulk INSERT,
-- UPDATE and DELETE of 100 000 customers, and 1 000 single-row INSERTs, with
-- the counting triggers on and with them disabled.  Each statement runs in a
-- subtransaction that is rolled back (the table and its counts are left as
-- they were), three times; the fastest run is printed.  Then a rebuild of
-- the counts from scratch.
--   psql -X -v ON_ERROR_STOP=1 -d agentauth -f search_writes.sql
-- Run it as a superuser on a throwaway cluster loaded by
-- search_customers.sql (it uses ids 1..100000 and 2000001..2100000), for
-- example the benchmark's with BENCH_KEEP_DIR (tests/bench/search.sh).  Not
-- part of the test suite: the figures depend on the machine.
\set ON_ERROR_STOP 1
SET client_min_messages = notice;

-- The fastest of three runs of p_sql, in ms, with the trigger p_off
-- disabled (NULL: all on); each run rolled back.
CREATE FUNCTION pg_temp.timed(p_sql text, p_off text) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	best float8;
	ms float8;
BEGIN
	FOR i IN 1 .. 3 LOOP
		BEGIN
			IF p_off IS NOT NULL THEN
				EXECUTE 'ALTER TABLE agentauth.customers DISABLE TRIGGER ' || p_off;
			END IF;
			t0 := clock_timestamp();
			EXECUTE p_sql;
			ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
			RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = 'roll back';
		EXCEPTION WHEN raise_exception THEN
			best := least(best, ms);
		END;
	END LOOP;
	RETURN best;
END
$$;

SELECT w.what, round(pg_temp.timed(w.sql, NULL)::numeric, 1) AS "triggers on, ms",
       round(pg_temp.timed(w.sql, w.off)::numeric, 1) AS "triggers off, ms"
FROM (VALUES
	('INSERT ... SELECT of 100 000 customers',
	 'INSERT INTO agentauth.customers (id, customer_reference, email, first_name, last_name) '
	 'SELECT 2000000 + g, ''BW--'' || g, ''bulk.writer'' || g || ''@example.com'', '
	 '''Bulk'' || (g % 97), ''Writer'' || (g % 89) FROM generate_series(1, 100000) g',
	 'customers_prefix_counts_insert'),
	('UPDATE of the last name of 100 000 customers',
	 'UPDATE agentauth.customers SET last_name = last_name || ''x'' '
	 'WHERE id BETWEEN 1 AND 100000', 'customers_prefix_counts_update'),
	('UPDATE of allow_assistance of 100 000 customers',
	 'UPDATE agentauth.customers SET allow_assistance = NOT allow_assistance '
	 'WHERE id BETWEEN 1 AND 100000', 'customers_prefix_counts_update'),
	('DELETE of 100 000 customers',
	 'DELETE FROM agentauth.customers WHERE id BETWEEN 1 AND 100000',
	 'customers_prefix_counts_delete'),
	('1 000 single-row INSERTs',
	 'DO $i$ BEGIN FOR g IN 1 .. 1000 LOOP INSERT INTO agentauth.customers (id, '
	 'customer_reference, email, first_name, last_name) VALUES (2000000 + g, ''BW--'' || g, '
	 '''single'' || g || ''@example.com'', ''Single'', ''Row''); END LOOP; END $i$',
	 'customers_prefix_counts_insert')) w(what, sql, off);

\timing on
SELECT agentauth.rebuild_customer_prefix_counts() AS prefixes_rebuilt;
\timing off
SELECT pg_size_pretty(pg_total_relation_size('agentauth.customer_prefix_counts')) AS counts_size;
