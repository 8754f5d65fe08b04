#!/usr/bin/env bash
# agentauth quickstart for a new Debian 12 (or Ubuntu 22.04+) machine, as root:
#   deploy/quickstart.sh         install, build, start a demo on 127.0.0.1:8080
#   deploy/quickstart.sh stop    stop everything the demo started
# It makes a private PostgreSQL cluster with the demo agent
# admin@spryker.com / change123, an RSA signing key, the agentauth pool
# (running as the system user agentauth) and an nginx on 127.0.0.1:8080,
# then logs in once with curl.  State lives in /var/lib/agentauth-demo,
# sockets in /run/agentauth-demo.  Safe to run again: it restarts the demo
# and keeps its database and key.
#
# The checkout may be anywhere, root's home included: nothing that runs as
# another user (postgres, agentauth, www-data) reads it.  The SQL and the
# program are copied to the state directory first.
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=/var/lib/agentauth-demo
RUN=/run/agentauth-demo
PGPORT=5433
HTTP=127.0.0.1:8080
SERVICE_USER=agentauth
PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev libjson-c-dev libjwt-dev
 libcrypt-dev libssl-dev libpq-dev postgresql postgresql-contrib nginx-light openssl curl
 python3 python3-jwt python3-cryptography passwd util-linux procps"

# as USER CMD...: runs CMD as USER from /, a directory every user may enter
as() {
	local user=$1
	shift
	(cd / && runuser -u "$user" -- "$@")
}

# waits up to 10 s for process PID to end
wait_gone() {
	for _ in $(seq 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	echo "process $1 did not stop" >&2
	return 1
}

stop_pidfile() {
	local pid
	[ -f "$1" ] || return 0
	pid=$(cat "$1" 2>/dev/null) || return 0
	if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
		wait_gone "$pid"
		echo "stopped $2 (pid $pid)"
	fi
	rm -f "$1"
}

stop() {
	local pgbin
	stop_pidfile $RUN/nginx.pid nginx
	stop_pidfile $RUN/agentauth.pid "the agentauth pool"
	pgbin=/usr/lib/postgresql/$(cat $STATE/pg/PG_VERSION 2>/dev/null || true)/bin
	if [ -f $STATE/pg/postmaster.pid ] &&
		as postgres "$pgbin/pg_ctl" -D $STATE/pg status >/dev/null 2>&1; then
		as postgres "$pgbin/pg_ctl" -D $STATE/pg -m fast -w stop >/dev/null
		echo "stopped PostgreSQL (port $PGPORT)"
	fi
}

[ "$(id -u)" -eq 0 ] || { echo "deploy/quickstart.sh: run it as root" >&2; exit 1; }
if [ "${1:-}" = stop ]; then
	stop
	echo "agentauth demo stopped (its data stays in $STATE)"
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: deploy/quickstart.sh [stop]" >&2; exit 2; }

echo "== installing packages (apt-get)"
apt-get update -q >/dev/null
# shellcheck disable=SC2086 # the list is meant to split
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null

echo "== building build/release"
autoreconf -fi >/dev/null 2>&1
mkdir -p build/release
(cd build/release && "$ROOT/configure" -q >/dev/null && make -j"$(nproc)" -s >/dev/null)

# the newest PostgreSQL installed (15 on Debian 12, 14 on Ubuntu 22.04)
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
stop
id -u $SERVICE_USER >/dev/null 2>&1 ||
	useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin $SERVICE_USER
mkdir -p $STATE $RUN
chmod 0755 $STATE $RUN
# the pool writes its pid file here; PostgreSQL and the pool put their sockets here
chown $SERVICE_USER:postgres $RUN
chmod 0775 $RUN
# what other users need from the checkout, copied where they can read it
install -d -m 0755 $STATE/bin $STATE/sql
install -m 0755 build/release/src/agentauth $STATE/bin/agentauth
cp -R sql/. $STATE/sql/
chmod -R a+rX $STATE/sql

echo "== database: a private PostgreSQL cluster on port $PGPORT, socket in $RUN"
if [ ! -f $STATE/pg/PG_VERSION ]; then
	install -d -o postgres -m 0700 $STATE/pg
	as postgres $PGBIN/initdb -A peer -U postgres -E UTF8 -D $STATE/pg >/dev/null
	# the service role logs in over the socket with a password-less trust
	# rule limited to that one role; a real deployment uses scram-sha-256
	sed -i '1i local agentauth agentauth_demo trust' $STATE/pg/pg_hba.conf
	echo "created the cluster in $STATE/pg"
fi
PGBIN=/usr/lib/postgresql/$(cat $STATE/pg/PG_VERSION)/bin   # the cluster's own version
[ -f $STATE/pg.log ] || install -o postgres -m 0640 /dev/null $STATE/pg.log
as postgres $PGBIN/pg_ctl -D $STATE/pg -l $STATE/pg.log -w \
	-o "-p $PGPORT -k $RUN -c listen_addresses=''" start >/dev/null
psql_pg() { as postgres psql -X -q -h $RUN -p $PGPORT -v ON_ERROR_STOP=1 "$@"; }
psql_pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'agentauth'" | grep -q 1 ||
	psql_pg -d postgres -c "CREATE DATABASE agentauth"
psql_pg -d agentauth -f $STATE/sql/install.sql
psql_pg -d agentauth <<'SQL'
DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'agentauth_demo') THEN
		CREATE ROLE agentauth_demo LOGIN IN ROLE agentauth_app;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM agentauth.agents WHERE lower(username) = 'admin@spryker.com') THEN
		PERFORM agentauth.create_agent('admin@spryker.com', 'change123', 'Admin', 'Spryker');
	END IF;
END
$$;
-- demo customers DE--1 .. DE--40, so that search paging shows
INSERT INTO agentauth.customers (id, customer_reference, email, first_name, last_name,
	allow_assistance)
SELECT g, 'DE--' || g,
	lower(f.name) || '.' || lower(l.name) || g || '@example.com', f.name, l.name, true
FROM generate_series(1, 40) g
JOIN LATERAL (SELECT (ARRAY['Sonia', 'Spencor', 'Karl', 'Anna', 'Maria', 'Lukas', 'Emma',
	'Jonas'])[1 + g % 8] AS name) f ON true
JOIN LATERAL (SELECT (ARRAY['Wagner', 'Hopkin', 'Schmidt', 'Meyer', 'Fischer'])[1 + g % 5]
	AS name) l ON true
ON CONFLICT DO NOTHING;
SQL
echo "schema installed; demo agent admin@spryker.com, customers DE--1 .. DE--40"

echo "== signing key"
if [ ! -f $STATE/private.pem ]; then
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out $STATE/private.pem 2>/dev/null)
	echo "generated $STATE/private.pem (RSA 2048)"
fi
chown root:$SERVICE_USER $STATE/private.pem
chmod 0640 $STATE/private.pem
openssl pkey -in $STATE/private.pem -pubout -out $STATE/public.pem 2>/dev/null

cat >$STATE/agentauth.conf <<CONF
# agentauth demo configuration (see doc/configuration.md)
database = host=$RUN port=$PGPORT dbname=agentauth user=agentauth_demo
private_key = $STATE/private.pem
listen = unix:$RUN/agentauth.sock
pid_file = $RUN/agentauth.pid
workers = 2
CONF
chmod 0644 $STATE/agentauth.conf
[ -f $STATE/agentauth.log ] || install -o $SERVICE_USER -m 0640 /dev/null $STATE/agentauth.log

echo "== starting the agentauth pool as user $SERVICE_USER (2 workers)"
as $SERVICE_USER $STATE/bin/agentauth --check-config --config $STATE/agentauth.conf
# setpriv execs the program itself, so the pool's pid file names the pool
(cd / && exec setsid setpriv --reuid=$SERVICE_USER --regid=$SERVICE_USER --init-groups \
	$STATE/bin/agentauth --config $STATE/agentauth.conf </dev/null >>$STATE/agentauth.log 2>&1) &
for _ in $(seq 100); do [ -S $RUN/agentauth.sock ] && [ -s $RUN/agentauth.pid ] && break; sleep 0.1; done
[ -S $RUN/agentauth.sock ] || { echo "agentauth did not start: see $STATE/agentauth.log" >&2; exit 1; }
# nginx's workers (www-data) connect to the socket (mode 0660)
chgrp www-data $RUN/agentauth.sock

echo "== starting nginx on $HTTP"
mkdir -p $STATE/nginx
cat >$STATE/nginx.conf <<CONF
user www-data;
pid $RUN/nginx.pid;
error_log $STATE/nginx-error.log;
events { worker_connections 256; }
http {
    access_log $STATE/nginx-access.log;
    client_body_temp_path $STATE/nginx/body;
    fastcgi_temp_path $STATE/nginx/fastcgi;
    proxy_temp_path $STATE/nginx/proxy;
    uwsgi_temp_path $STATE/nginx/uwsgi;
    scgi_temp_path $STATE/nginx/scgi;
    server {
        listen $HTTP;
        location / {
            client_max_body_size 64k;
            include /etc/nginx/fastcgi_params;
            fastcgi_param HTTP_PROXY "";
            fastcgi_pass unix:$RUN/agentauth.sock;
        }
    }
}
CONF
nginx -c $STATE/nginx.conf -p $STATE/nginx

BODY='{"data":{"type":"agent-access-tokens","attributes":{"username":"admin@spryker.com","password":"change123"}}}'
for _ in $(seq 100); do
	curl -s -o /dev/null "http://$HTTP/health" && break
	sleep 0.1
done
echo
echo "agentauth is running on http://$HTTP.  Log in with:"
echo
echo "  curl -i -X POST http://$HTTP/agent-access-tokens \\"
echo "       -H 'Content-Type: application/vnd.api+json' \\"
echo "       -d '$BODY'"
echo
out=$(curl -s -w '\n%{http_code}' -X POST "http://$HTTP/agent-access-tokens" \
	-H 'Content-Type: application/vnd.api+json' -d "$BODY")
code=${out##*$'\n'}
body=${out%$'\n'*}
echo "That request, made just now, answered $code:"
echo "$body"
if [ "$code" = 201 ]; then
	token=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["attributes"]["accessToken"])')
	python3 - "$token" "http://$HTTP/.well-known/jwks.json" <<'PY'
import sys, jwt
key = jwt.PyJWKClient(sys.argv[2]).get_signing_key_from_jwt(sys.argv[1])
claims = jwt.decode(sys.argv[1], key.key, algorithms=["RS256"], audience="frontend")
print("The access token verifies against %s: sub=%s scopes=%s" % (sys.argv[2], claims["sub"], claims["scopes"]))
PY
	echo
	echo "With the access token, search customers and impersonate one:"
	echo "  TOKEN=$token"
	echo "  curl -s 'http://$HTTP/agent-customer-search?q=sonia' -H \"X-Agent-Authorization: Bearer \$TOKEN\""
	echo "  curl -s -X POST http://$HTTP/agent-customer-impersonation-access-tokens \\"
	echo "       -H \"X-Agent-Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/vnd.api+json' \\"
	echo "       -d '{\"data\":{\"type\":\"agent-customer-impersonation-access-tokens\",\"attributes\":{\"customerReference\":\"DE--1\"}}}'"
fi
echo
echo "Logs: $STATE/agentauth.log   Stop: deploy/quickstart.sh stop"
[ "$code" = 201 ]
