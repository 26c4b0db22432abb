#!/bin/sh
# Creates the dynasplit metrics database (InfluxDB 1.x) or bucket (2.x) and a user or token that may
# write to it. The components also check at start: a 1.x database they may create is created; for
# anything else they stop with the command to run (docs/metrics.md, "Setting the store up").
#   INFLUX_API=v1 INFLUX_DB=dynasplit sh deploy/influxdb/setup.sh
#   INFLUX_API=v2 INFLUX_ORG=lab INFLUX_BUCKET=dynasplit sh deploy/influxdb/setup.sh
set -eu
if [ "${INFLUX_API:-v1}" = v1 ]; then
  db="${INFLUX_DB:-dynasplit}"
  # As an admin (influx -username admin -password ... when auth-enabled = true).
  influx -execute "CREATE DATABASE \"$db\" WITH DURATION 30d"
  # Optional accounts: edges write, the optimizer and Grafana read.
  # influx -execute "CREATE USER \"edge\" WITH PASSWORD '...'; GRANT WRITE ON \"$db\" TO \"edge\""
  # influx -execute "CREATE USER \"optimizer\" WITH PASSWORD '...'; GRANT READ ON \"$db\" TO \"optimizer\""
else
  org="${INFLUX_ORG:?INFLUX_ORG}"
  bucket="${INFLUX_BUCKET:-dynasplit}"
  influx bucket create --name "$bucket" --org "$org" --retention 30d
  id=$(influx bucket list --name "$bucket" --org "$org" --hide-headers | cut -f1)
  # InfluxQL (the optimizer's queries, Grafana) reads the bucket through a DBRP mapping of the same name.
  influx v1 dbrp create --db "$bucket" --rp autogen --bucket-id "$id" --default --org "$org"
  influx auth create --org "$org" --read-bucket "$id" --write-bucket "$id" --description dynasplit
fi
