"""The gRPC front: embedroute.v1 services, health, reflection, auth and call bookkeeping.

It translates (service.rpc.translate, service.rpc.fields) and maps errors
(service.rpc.status); everything else is the application's (service.app). The code
under `generated/` is written by scripts/gen-protos.sh.
"""
