"""Several `kyb server`s on one shared datastore (docs/ha.md).

- ``token``: the server token (who may join as a server, and which CA it must find).
- ``bootstrapdata``: the cluster's shared secrets, kept in the datastore encrypted with the token.
- ``join``: the HTTP side of joining (CA download, bootstrap data, etcd membership).
- ``endpoints``: the `kubernetes` Service's endpoints from every live server's lease.
- ``allocations``: ClusterIP/NodePort reservations that two servers can never both win.
"""
