#!/usr/bin/env bash
# Installs the pinned grpcurl (tests/rpc/test_grpcurl.py drives the server with it)
# into $(go env GOPATH)/bin, from the Go module proxy; a no-op when that version is there.
set -euo pipefail
version="v1.9.3"
bin="$(go env GOPATH)/bin/grpcurl"
if [ -x "$bin" ] && go version -m "$bin" 2>/dev/null | grep -q "github.com/fullstorydev/grpcurl[[:space:]]*${version}"; then
  exit 0
fi
go install "github.com/fullstorydev/grpcurl/cmd/grpcurl@${version}"
go version -m "$bin" | grep "fullstorydev/grpcurl"
