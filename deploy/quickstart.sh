#!/bin/sh
# Running a deployment: one process per component, in this order, each in its own terminal (or under a
# supervisor: docs/deployment.md). Start a command once the one before it logs that it serves.
# Servers: Mosquitto (deploy/mosquitto/dynasplit.conf; or `npx dynasplit broker --port 1883`),
# nats-server (deploy/nats/), InfluxDB 1.x (a database the nodes may create, or deploy/influxdb/setup.sh).
MQTT="${MQTT:-mqtt://127.0.0.1:1883}"
NATS="${NATS:-nats://127.0.0.1:4222}"
MODEL="${MODEL:-vgg16}"
OUT="${OUT:-.}"
export DYNASPLIT_METRICS=influxdb INFLUX_API=v1 INFLUX_URL="${INFLUX_URL:-http://127.0.0.1:8086}" INFLUX_DB="${INFLUX_DB:-dynasplit}"

# Run as a plain script, the nodes it starts stop when it ends (Ctrl-C included).
trap 'kill $nodes 2>/dev/null' EXIT
trap 'exit 130' INT TERM

npx dynasplit cloud --mqtt "$MQTT" --transport nats --nats "$NATS" --model "$MODEL" --profile host &
nodes="$nodes $!"
npx dynasplit edge --mqtt "$MQTT" --transport nats --nats "$NATS" --model "$MODEL" --profile host --id edge-1 &
nodes="$nodes $!"
npx dynasplit edge --mqtt "$MQTT" --transport nats --nats "$NATS" --model "$MODEL" --profile host --id edge-2 &
nodes="$nodes $!"
npx dynasplit sensor --mqtt "$MQTT" --model "$MODEL" --rate 10 --count "${COUNT:-200}" --budgets weibull:1.5:300 --json > "$OUT/explore.json"
npx dynasplit optimizer run --mqtt "$MQTT" --model "$MODEL" &
nodes="$nodes $!"
npx dynasplit sensor --mqtt "$MQTT" --model "$MODEL" --rate 10 --count "${COUNT:-200}" --budgets weibull:1.5:300 --json > "$OUT/optimized.json"
