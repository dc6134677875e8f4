"""CRI v1 for the node agent: our own ``api.proto``, its generated modules and an asyncio client.

Callers use ``CRIClient`` (``client``) with messages from ``api_pb2`` and catch the exceptions in
``errors``; they never import grpc themselves.
"""
