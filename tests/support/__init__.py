"""Python helpers for the integration and end-to-end tests (test PKI, recording backend,
gateway process and clients, remote-write bodies, Prometheus/Cortex processes)."""
