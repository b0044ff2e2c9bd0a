#!/bin/sh
# Health check for Docker's HEALTHCHECK and for Kubernetes exec probes when the server speaks TLS
# (kubelet's native gRPC probe is plaintext only). It reads the server's own EMBEDROUTE_* settings,
# so one command works in every mode. Usage: embedroute-healthcheck [SERVICE]  ("" = overall).
set -eu
service="${1:-}"
set -- "-addr=127.0.0.1:${EMBEDROUTE_PORT:-50051}" "-service=${service}" -connect-timeout=2s -rpc-timeout=3s
if [ -n "${EMBEDROUTE_TLS_CERT:-}" ]; then
    # Loopback to our own process: liveness, not identity, is what is checked here.
    set -- "$@" -tls -tls-no-verify
    if [ -n "${EMBEDROUTE_TLS_CLIENT_CA:-}" ]; then
        set -- "$@" "-tls-client-cert=${EMBEDROUTE_TLS_CERT}" "-tls-client-key=${EMBEDROUTE_TLS_KEY}"
    fi
fi
exec grpc_health_probe "$@"
