"""Cluster-level logging: container logs shipped off every node into a store in `kyb server`.

Upstream Kubernetes leaves this to add-ons (a node agent such as fluent-bit plus a log store);
this is a small one of our own (docs/logging.md): `shipper` runs inside each node agent, `store`
keeps append-only segment files under the server's data dir, `http` serves ingest and query under
the API server, and `kyb logs query` reads it. Logs outlive their pods, which is the point.
"""
