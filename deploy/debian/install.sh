#!/usr/bin/env bash
# Install slrt on a fresh Debian 12 server, everything on this one machine, with Debian's own
# packages: PostgreSQL, PgBouncer, Redis, nginx, certbot. Each step says what it does and can be
# run again: it keeps what is already there (passwords, keys, data).
#
#   sudo SLRT_DOMAIN=slrt.kendalkab.go.id SLRT_ACME_EMAIL=it@kendalkab.go.id \
#        SLRT_ADMIN_EMAIL=admin@kemensos.go.id deploy/debian/install.sh
#
# Run it from a checkout of the slrt repository (it is copied to /opt/slrt/src). For more
# machines (app nodes, a replica), see deploy/README.md: this script is the first of them.
set -euo pipefail

SLRT_DOMAIN=${SLRT_DOMAIN:?set SLRT_DOMAIN to the public host name, e.g. slrt.kendalkab.go.id}
SLRT_ACME_EMAIL=${SLRT_ACME_EMAIL:-}   # empty: keep a self-signed certificate for now
SLRT_ADMIN_EMAIL=${SLRT_ADMIN_EMAIL:-} # empty: create the first Kemensos admin later
SLRT_WORKERS=${SLRT_WORKERS:-2}
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPLOY=$SRC/deploy
PREFIX=/opt/slrt
VENV=$PREFIX/venv
ENV_FILE=/etc/slrt/slrt.env

step() { printf '\n==> %s\n' "$*"; }
secret() { openssl rand -hex 24; }
fernet_key() { openssl rand 32 | base64 | tr '+/' '-_'; }
# Read one value of the env file (values are plain: no quotes, no spaces).
env_value() { sed -n "s/^$1=//p" "$ENV_FILE" | tail -n 1; }
# Run a command as slrt with the settings the services get (the file is also valid shell).
# shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
as_slrt() { runuser -u slrt -- bash -c 'set -a; . "$0"; set +a; exec "$@"' "$ENV_FILE" "$@"; }

[ "$(id -u)" = 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
# shellcheck source=/dev/null
. /etc/os-release
[ "${VERSION_ID:-}" = 12 ] || echo "warning: written for Debian 12, this is ${PRETTY_NAME:-unknown}" >&2

step "1. Debian packages"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  python3 python3-venv openssl ca-certificates curl rsync \
  postgresql postgresql-client pgbouncer redis-server nginx certbot
# Brotli for nginx when Debian has the module (bookworm does); the site works without it.
DEBIAN_FRONTEND=noninteractive apt-get install -y -q libnginx-mod-http-brotli-filter \
  || echo "no brotli module: gzip only"

step "2. The slrt system user and its directories"
id slrt >/dev/null 2>&1 || adduser --system --group --home /var/lib/slrt --no-create-home slrt
install -d -o slrt -g slrt -m 0750 /var/lib/slrt
install -d -o root -g slrt -m 0750 /etc/slrt
install -d -m 0755 "$PREFIX"

step "3. The code and its pinned dependencies (requirements.lock, hashes checked)"
rsync -a --delete --exclude .venv --exclude var --exclude .git "$SRC/" "$PREFIX/src/"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --disable-pip-version-check --require-hashes --no-deps \
  -r "$PREFIX/src/deploy/requirements-runtime.lock"
# Editable like `make`: migrations are read from the source tree.
"$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps --no-build-isolation \
  -e "$PREFIX/src"
# The static files nginx serves from disk, fingerprinted and pre-compressed, readable by nginx.
rm -rf "$PREFIX/static" "$PREFIX/assets.new"
"$VENV/bin/slrt" assets "$PREFIX/assets.new" >/dev/null
rm -rf "$PREFIX/assets" && mv "$PREFIX/assets.new" "$PREFIX/assets"

step "4. Settings and secrets in $ENV_FILE (kept if it exists)"
if [ ! -f "$ENV_FILE" ]; then
  app_pw=$(secret) owner_pw=$(secret) redis_pw=$(secret)
  sed -e "s#^DATABASE_URL=.*#DATABASE_URL=postgresql://slrt_app:$app_pw@127.0.0.1:6432/slrt#" \
      -e "s#^DATABASE_OWNER_URL=.*#DATABASE_OWNER_URL=postgresql://slrt_owner:$owner_pw@127.0.0.1:5432/slrt#" \
      -e "s#^REDIS_URL=.*#REDIS_URL=redis://:$redis_pw@127.0.0.1:6379/0#" \
      -e "s#^SLRT_HOST=.*#SLRT_HOST=127.0.0.1#" \
      -e "s#^SLRT_PUBLIC_URL=.*#SLRT_PUBLIC_URL=https://$SLRT_DOMAIN#" \
      -e "s#^SLRT_SECRET_KEY=.*#SLRT_SECRET_KEY=$(secret)#" \
      -e "s#^SLRT_NIK_HASH_KEY=.*#SLRT_NIK_HASH_KEY=$(secret)#" \
      -e "s#^SLRT_FIELD_KEY=.*#SLRT_FIELD_KEY=$(fernet_key)#" \
      -e "s#^SLRT_METRICS_TOKEN=.*#SLRT_METRICS_TOKEN=$(secret)#" \
      -e "s#^SLRT_FILE_STORE=.*#SLRT_FILE_STORE=local#" \
      -e "/^DATABASE_REPLICA_URL=/d" \
      -e "/^SLRT_S3_/d" \
      "$DEPLOY/systemd/slrt.env.example" > "$ENV_FILE"
  chown root:slrt "$ENV_FILE"
  chmod 0640 "$ENV_FILE"
fi
APP_PW=$(env_value DATABASE_URL | sed 's#^postgresql://slrt_app:\([^@]*\)@.*#\1#')
OWNER_PW=$(env_value DATABASE_OWNER_URL | sed 's#^postgresql://slrt_owner:\([^@]*\)@.*#\1#')
REDIS_PW=$(env_value REDIS_URL | sed 's#^redis://:\([^@]*\)@.*#\1#')
printf 'DATABASE_URL=postgresql://slrt_app:%s@127.0.0.1:6432/slrt_session\n' "$APP_PW" \
  > /etc/slrt/scheduler.env
chown root:slrt /etc/slrt/scheduler.env
chmod 0640 /etc/slrt/scheduler.env

step "5. PostgreSQL: roles slrt_owner, slrt_app, slrt_platform_reader and the database"
systemctl enable --now postgresql
# The superuser over the local socket (peer authentication as postgres). On PostgreSQL 15
# (Debian 12's) the command makes the app role NOINHERIT; on 16+ the grant itself says so.
runuser -u postgres -- env \
  DATABASE_ADMIN_URL='postgresql:///postgres?host=/var/run/postgresql' \
  SLRT_OWNER_PASSWORD="$OWNER_PW" SLRT_APP_PASSWORD="$APP_PW" \
  "$VENV/bin/slrt" db create-roles

step "6. PgBouncer on 127.0.0.1:6432 (transaction pool 'slrt', session pool 'slrt_session')"
sed -e 's/10\.0\.0\.20/127.0.0.1/; s/10\.0\.0\.21/127.0.0.1/g' \
    -e 's/^client_tls_/;client_tls_/' -e 's/^stats_users = .*/stats_users = postgres/' \
    -e '/^slrt_replica = /d' \
    "$DEPLOY/pgbouncer/pgbouncer.ini" > /etc/pgbouncer/pgbouncer.ini
# SCRAM secrets, not passwords: PgBouncer logs in with the client's own proof.
runuser -u postgres -- psql -Atc "SELECT format('\"%s\" \"%s\"', rolname, rolpassword)
  FROM pg_authid WHERE rolname = 'slrt_app'" > /etc/pgbouncer/userlist.txt
chown postgres:postgres /etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/userlist.txt
chmod 0640 /etc/pgbouncer/pgbouncer.ini /etc/pgbouncer/userlist.txt
systemctl enable pgbouncer
systemctl restart pgbouncer

step "7. Redis: password and append-only file (queued jobs survive a restart)"
conf=/etc/redis/redis.conf
grep -q '^requirepass ' "$conf" && sed -i "s/^requirepass .*/requirepass $REDIS_PW/" "$conf" \
  || echo "requirepass $REDIS_PW" >> "$conf"
sed -i 's/^appendonly no/appendonly yes/' "$conf"
systemctl enable redis-server
systemctl restart redis-server

step "8. Migrations (as the schema owner, straight to PostgreSQL), then the audit trail sealed"
# Sealed, the audit tables belong to slrt_audit_owner, whom nobody can log in as: not even
# slrt_owner can change them. A re-run hands them back for the migrations, then seals again.
as_admin() {
  runuser -u postgres -- env DATABASE_ADMIN_URL='postgresql:///slrt?host=/var/run/postgresql' \
    "$VENV/bin/slrt" "$@"
}
as_admin db unseal-audit
as_slrt "$VENV/bin/slrt" db upgrade
as_admin db seal-audit

step "9. systemd units: slrt-web, slrt-worker@1..$SLRT_WORKERS, slrt-scheduler, slrt.target"
install -m 0644 "$DEPLOY"/systemd/slrt-web.service "$DEPLOY"/systemd/slrt-worker@.service \
  "$DEPLOY"/systemd/slrt-scheduler.service "$DEPLOY"/systemd/slrt.target /etc/systemd/system/
mapfile -t workers < <(seq -f 'slrt-worker@%g.service' 1 "$SLRT_WORKERS")
sed -i "s/^Wants=.*/Wants=slrt-web.service ${workers[*]} slrt-scheduler.service/" \
  /etc/systemd/system/slrt.target
systemctl daemon-reload
systemctl enable slrt.target slrt-web.service slrt-scheduler.service "${workers[@]}"
systemctl restart slrt.target

step "10. nginx: the slrt site, first with a self-signed certificate"
install -d /var/www/letsencrypt /etc/ssl/slrt
install -m 0644 "$DEPLOY"/nginx/snippets/*.conf /etc/nginx/snippets/
if [ -e /etc/nginx/modules-enabled/50-mod-http-brotli-filter.conf ]; then
  install -m 0644 "$DEPLOY/nginx/optional/slrt-brotli.conf" /etc/nginx/snippets/
fi
sed 's/10\.0\.0\.11:8000/127.0.0.1:8000/; /10\.0\.0\.12:8000/d' \
  "$DEPLOY/nginx/slrt-upstream.conf" > /etc/nginx/slrt-upstream.conf
LIVE=/etc/letsencrypt/live/$SLRT_DOMAIN
if [ -f "$LIVE/fullchain.pem" ]; then cert_dir=$LIVE; else
  cert_dir=/etc/ssl/slrt
  [ -f "$cert_dir/fullchain.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -subj "/CN=$SLRT_DOMAIN" -addext "subjectAltName=DNS:$SLRT_DOMAIN" \
    -keyout "$cert_dir/privkey.pem" -out "$cert_dir/fullchain.pem" 2>/dev/null
fi
sed -e "s/slrt\.example\.go\.id/$SLRT_DOMAIN/g" \
    -e "s#/etc/letsencrypt/live/$SLRT_DOMAIN#$cert_dir#g" \
    "$DEPLOY/nginx/slrt.conf" > /etc/nginx/sites-available/slrt
ln -sfn /etc/nginx/sites-available/slrt /etc/nginx/sites-enabled/slrt
rm -f /etc/nginx/sites-enabled/default
# Protocols are chosen before the server name is known: set them for every site.
sed -i 's/^\(\s*ssl_protocols\).*/\1 TLSv1.2 TLSv1.3;/' /etc/nginx/nginx.conf
nginx -t
systemctl enable nginx
systemctl reload-or-restart nginx

step "11. Let's Encrypt certificate (certbot, HTTP-01 through nginx)"
if [ -n "$SLRT_ACME_EMAIL" ] && [ "$cert_dir" != "$LIVE" ]; then
  certbot certonly --webroot -w /var/www/letsencrypt -d "$SLRT_DOMAIN" \
    -m "$SLRT_ACME_EMAIL" --agree-tos --non-interactive \
    --deploy-hook 'systemctl reload nginx'
  sed -i "s#/etc/ssl/slrt#$LIVE#g" /etc/nginx/sites-available/slrt
  nginx -t && systemctl reload nginx
elif [ -z "$SLRT_ACME_EMAIL" ]; then
  echo "self-signed for now; once DNS points here, run again with SLRT_ACME_EMAIL=..."
fi
# Debian's certbot package renews with its systemd timer (certbot.timer) and the deploy hook.

step "12. Check: /readyz through nginx"
for _ in $(seq 1 30); do
  if curl -fsS --resolve "$SLRT_DOMAIN:443:127.0.0.1" -k "https://$SLRT_DOMAIN/readyz"; then
    echo; break
  fi
  sleep 2
done

if [ -n "$SLRT_ADMIN_EMAIL" ]; then
  step "13. The first Kemensos admin (its password is printed once)"
  as_slrt "$VENV/bin/slrt" accounts create-admin --email "$SLRT_ADMIN_EMAIL" || true
fi

cat <<EOF

slrt runs at https://$SLRT_DOMAIN
  settings:   $ENV_FILE (root:slrt 0640; restart slrt.target after a change)
  services:   systemctl status slrt.target slrt-web slrt-worker@1 slrt-scheduler
  logs:       journalctl -u 'slrt-*' -f ; /var/log/nginx/slrt.access.log
  districts:  sudo -u slrt bash -c 'set -a; . $ENV_FILE; exec $VENV/bin/slrt tenants create 33.24'
  upgrades:   pull the checkout, run this script again (it migrates and restarts)
EOF
