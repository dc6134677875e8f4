"""The built-in Ingress controller: host and path routing to endpoint pod IPs, TLS with SNI."""
