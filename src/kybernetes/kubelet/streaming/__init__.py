"""Streaming for exec, attach and port-forward: the client protocols kubectl speaks (WebSocket
channels, SPDY/3.1, SPDY tunnelled in WebSocket) terminated here and bridged to containerd's
streaming server, which the kubelet talks to as a SPDY/3.1 client."""
