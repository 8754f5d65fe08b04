#!/usr/bin/env bash
# agentauth quickstart for a fresh Debian 12 machine, as root:
#   deploy/quickstart.sh         install, build, start a demo on 127.0.0.1:8080
#   deploy/quickstart.sh stop    stop the demo
# It makes a private PostgreSQL cluster with the demo agent
# admin@spryker.com / change123, an RSA signing key, the agentauth pool and
# an nginx on 127.0.0.1:8080, then logs in once with curl.  Everything lives
# in /var/lib/agentauth-demo (state) and /run/agentauth-demo (sockets).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
STATE=/var/lib/agentauth-demo
RUN=/run/agentauth-demo
PGBIN=/usr/lib/postgresql/15/bin
PGPORT=5433
HTTP=127.0.0.1:8080
PACKAGES="build-essential autoconf automake pkg-config libfcgi-dev libjson-c-dev libjwt-dev
 libcrypt-dev libssl-dev libpq-dev postgresql postgresql-contrib nginx-light openssl curl
 python3 python3-jwt"

stop() {
	if [ -f $RUN/nginx.pid ]; then kill "$(cat $RUN/nginx.pid)" 2>/dev/null || true; fi
	if [ -f $RUN/agentauth.pid ]; then kill "$(cat $RUN/agentauth.pid)" 2>/dev/null || true; fi
	if [ -f $STATE/pg/postmaster.pid ]; then
		runuser -u postgres -- $PGBIN/pg_ctl -D $STATE/pg -m fast -w stop >/dev/null || true
	fi
	rm -f $RUN/nginx.pid $RUN/agentauth.pid
}

if [ "${1:-}" = stop ]; then
	stop
	echo "agentauth demo stopped"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

echo "== installing packages"
apt-get update -q >/dev/null
# shellcheck disable=SC2086 # the list is meant to split
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES >/dev/null

echo "== building"
autoreconf -fi >/dev/null 2>&1
mkdir -p build/release
(cd build/release && "$ROOT/configure" -q >/dev/null && make -j"$(nproc)" -s >/dev/null)

stop
mkdir -p $STATE $RUN
chown postgres $RUN
chmod 0755 $RUN

echo "== database (private cluster on port $PGPORT)"
if [ ! -f $STATE/pg/PG_VERSION ]; then
	install -d -o postgres -m 0700 $STATE/pg
	runuser -u postgres -- $PGBIN/initdb -A peer -U postgres -E UTF8 -D $STATE/pg >/dev/null
	# the service role logs in over the socket with a password-less trust
	# rule limited to that one role; a real deployment uses scram-sha-256
	sed -i '1i local agentauth agentauth_demo trust' $STATE/pg/pg_hba.conf
fi
install -o postgres -m 0640 /dev/null $STATE/pg.log 2>/dev/null || chown postgres $STATE/pg.log
runuser -u postgres -- $PGBIN/pg_ctl -D $STATE/pg -l $STATE/pg.log -w \
	-o "-p $PGPORT -k $RUN -c listen_addresses=''" start >/dev/null
psql_pg() { runuser -u postgres -- psql -X -q -h $RUN -p $PGPORT -v ON_ERROR_STOP=1 "$@"; }
psql_pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'agentauth'" | grep -q 1 ||
	psql_pg -d postgres -c "CREATE DATABASE agentauth"
psql_pg -d agentauth -f "$ROOT/sql/install.sql"
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

echo "== signing key"
if [ ! -f $STATE/private.pem ]; then
	(umask 077 && openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
		-out $STATE/private.pem 2>/dev/null)
fi
openssl pkey -in $STATE/private.pem -pubout -out $STATE/public.pem

cat >$STATE/agentauth.conf <<CONF
# agentauth demo configuration (see doc/configuration.md)
database = host=$RUN port=$PGPORT dbname=agentauth user=agentauth_demo
private_key = $STATE/private.pem
listen = unix:$RUN/agentauth.sock
workers = 2
CONF

echo "== starting agentauth"
"$ROOT/build/release/src/agentauth" --check-config --config $STATE/agentauth.conf
setsid "$ROOT/build/release/src/agentauth" --config $STATE/agentauth.conf \
	</dev/null >>$STATE/agentauth.log 2>&1 &
echo $! >$RUN/agentauth.pid
for _ in $(seq 50); do [ -S $RUN/agentauth.sock ] && break; sleep 0.1; done
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
echo
echo "agentauth is running.  Log in with:"
echo
echo "  curl -i -X POST http://$HTTP/agent-access-tokens \\"
echo "       -H 'Content-Type: application/vnd.api+json' \\"
echo "       -d '$BODY'"
echo
sleep 0.3
out=$(curl -s -w '\n%{http_code}' -X POST "http://$HTTP/agent-access-tokens" \
	-H 'Content-Type: application/vnd.api+json' -d "$BODY")
code=${out##*$'\n'}
body=${out%$'\n'*}
echo "That request, made just now, answered $code:"
echo "$body"
if [ "$code" = 201 ]; then
	token=$(printf '%s' "$body" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["attributes"]["accessToken"])')
	/usr/bin/python3 - "$token" $STATE/public.pem <<'PY'
import sys, jwt
claims = jwt.decode(sys.argv[1], open(sys.argv[2]).read(), algorithms=["RS256"], audience="frontend")
print("The access token verifies with %s: sub=%s scopes=%s" % (sys.argv[2], claims["sub"], claims["scopes"]))
PY
fi
echo
echo "With the access token, search customers and impersonate one:"
[ "$code" = 201 ] && echo "  TOKEN=$token"
echo "  curl -s 'http://$HTTP/agent-customer-search?q=sonia' -H \"X-Agent-Authorization: Bearer \$TOKEN\""
echo "  curl -s -X POST http://$HTTP/agent-customer-impersonation-access-tokens \\"
echo "       -H \"X-Agent-Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/vnd.api+json' \\"
echo "       -d '{\"data\":{\"type\":\"agent-customer-impersonation-access-tokens\",\"attributes\":{\"customerReference\":\"DE--1\"}}}'"
echo
echo "Logs: $STATE/agentauth.log   Stop: deploy/quickstart.sh stop"
[ "$code" = 201 ]
