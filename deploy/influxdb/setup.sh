#!/bin/sh
# Creates the dynasplit metrics database (InfluxDB 1.x) or bucket (2.x) and a user or token that may
# write to it. The components also check at start: a 1.x database they may create is created; for
# anything else they stop with the command to run (docs/metrics.md, "Setting the store up").
# Needs the server's own CLI, `influx` (Debian: influxdb-client for 1.x; InfluxDB's influx CLI for 2.x).
#   INFLUX_URL=http://db:8086 INFLUX_API=v1 INFLUX_DB=dynasplit sh deploy/influxdb/setup.sh
#   INFLUX_URL=http://db:8086 INFLUX_API=v2 INFLUX_ORG=lab INFLUX_BUCKET=dynasplit INFLUX_TOKEN=... sh deploy/influxdb/setup.sh
# 1.x with authentication: INFLUX_USERNAME and INFLUX_PASSWORD of an admin (the 1.x CLI reads them itself).
set -eu
url="${INFLUX_URL:-http://127.0.0.1:8086}"
command -v influx >/dev/null || { echo "setup.sh: the influx CLI is not installed (Debian: apt-get install influxdb-client for InfluxDB 1.x)" >&2; exit 127; }
if [ "${INFLUX_API:-v1}" = v1 ]; then
  db="${INFLUX_DB:-dynasplit}"
  hostport="${url#*://}"
  hostport="${hostport%%/*}"
  host="${hostport%:*}"
  port=8086
  [ "$host" != "$hostport" ] && port="${hostport##*:}"
  ssl=""
  case "$url" in https://*) ssl="-ssl" ;; esac
  influx -host "$host" -port "$port" $ssl -execute "CREATE DATABASE \"$db\" WITH DURATION 30d"
  # Optional accounts: edges write; the optimizer reads the requests and writes its own measurement;
  # Grafana reads.
  # influx -host "$host" -port "$port" -execute "CREATE USER \"edge\" WITH PASSWORD '...'; GRANT WRITE ON \"$db\" TO \"edge\""
  # influx -host "$host" -port "$port" -execute "CREATE USER \"optimizer\" WITH PASSWORD '...'; GRANT ALL ON \"$db\" TO \"optimizer\""
  # influx -host "$host" -port "$port" -execute "CREATE USER \"grafana\" WITH PASSWORD '...'; GRANT READ ON \"$db\" TO \"grafana\""
else
  org="${INFLUX_ORG:?INFLUX_ORG}"
  bucket="${INFLUX_BUCKET:-dynasplit}"
  influx bucket create --host "$url" --name "$bucket" --org "$org" --retention 30d
  id=$(influx bucket list --host "$url" --name "$bucket" --org "$org" --hide-headers | cut -f1)
  # InfluxQL (the optimizer's queries, Grafana) reads the bucket through a DBRP mapping of the same name.
  influx v1 dbrp create --host "$url" --db "$bucket" --rp autogen --bucket-id "$id" --default --org "$org"
  influx auth create --host "$url" --org "$org" --read-bucket "$id" --write-bucket "$id" --description dynasplit
fi
