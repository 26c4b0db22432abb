/**
 * Local servers and dynasplit processes for the integration tests, the soak and the benchmarks:
 * nats-server, Mosquitto, InfluxDB and VictoriaMetrics started from their Debian binaries on
 * ephemeral ports with temp dirs, and `dynasplit` subcommands as separate OS processes.
 * Missing binaries: scripts/install-test-deps.sh installs them.
 */
export * from './servers.ts';
export * from './processes.ts';
