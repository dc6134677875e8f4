"""The etcd v3 storage backend: our own ``rpc.proto`` and its generated modules, the store over
etcd's gRPC API (``store.EtcdStorage``), the connection settings (``channel``) and a supervisor
for an etcd run as a child process (``embedded``, ``kyb server --cluster-init``).

Callers outside this package use ``EtcdStorage`` and ``EtcdConnection``; they never import grpc.
"""
