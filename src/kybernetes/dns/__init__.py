"""Cluster DNS: the record index (pure), the UDP/TCP server with forwarding and caching, and the
`kyb server` component that feeds the index from the API and publishes the kube-dns Service."""
