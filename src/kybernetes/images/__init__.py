"""Container images without a public registry: an OCI archive writer, the project's test images,
image-name normalisation and node-level registry configuration (mirrors, TLS, credentials).

No public registry is reachable from the machines this project is built on, so tests and a fresh
single-node cluster import images built here (`kyb image build-test-images`, `kyb image import`);
real pulls go through containerd's CRI PullImage with the `certs.d` host files that
`registries.write_registry_config` renders.
"""
