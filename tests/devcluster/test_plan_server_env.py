"""`DevClusterConfig.server_env` reaches `kyb server`'s environment (a test's DNS forwarder, say)."""

from __future__ import annotations

from kybernetes.devcluster.plan import DevClusterConfig, server_env


def test_default_environment_has_only_the_dns_addresses() -> None:
    env = server_env(DevClusterConfig(subnet="10.97.0.0/24", dns_port=15321), dns_http_port=4000)
    assert env == {"KYB_DNS_LISTEN": "10.97.0.1:15321", "KYB_DNS_HTTP": "127.0.0.1:4000"}


def test_extra_environment_is_added() -> None:
    cfg = DevClusterConfig(subnet="10.97.0.0/24", dns_port=15321,
                           server_env=(("KYB_DNS_UPSTREAMS", "10.97.0.1:15322"),))
    assert server_env(cfg, dns_http_port=4000)["KYB_DNS_UPSTREAMS"] == "10.97.0.1:15322"
