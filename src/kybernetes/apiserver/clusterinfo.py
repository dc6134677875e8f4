"""Publishing ``kube-public/cluster-info`` at server start: what token-based discovery starts from.

kubeadm writes this ConfigMap once, at ``init``; here every API server checks it when it starts
(``publish``): created when missing, its kubeconfig replaced when it names another CA than this
server's (a new cluster CA, or a datastore reused with new certificates), otherwise left as it is,
so an administrator's edit stands and HA servers do not fight over whose address it names. The
bootstrap signer controller (``controllers.bootstrapsigner``) adds the token signatures; anyone
may read the ConfigMap without credentials (``authn.ANONYMOUS_RESOURCES`` and the kube-public Role
in the default RBAC policy).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from kybernetes.machinery import clusterinfo, errors
from kybernetes.util import pki

if TYPE_CHECKING:
    from kybernetes.apiserver.server import APIServer

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def desired_configmap(current: Obj | None, *, server: str, ca_pem: bytes) -> Obj | None:
    """The cluster-info to write (a new object or an edited copy of `current`), or None to keep it."""
    kubeconfig = clusterinfo.cluster_kubeconfig(server, ca_pem)
    if current is None:
        return clusterinfo.configmap(kubeconfig)
    data = current.get("data") or {}
    published = data.get(clusterinfo.KUBECONFIG_KEY) if isinstance(data, dict) else None
    if isinstance(published, str) and _same_pem(clusterinfo.published_ca(published), ca_pem):
        return None
    # signatures of the old text are worthless; the bootstrap signer signs the new one
    kept = {
        k: v
        for k, v in (data if isinstance(data, dict) else {}).items()
        if not str(k).startswith(clusterinfo.SIGNATURE_PREFIX)
    }
    return {**current, "data": {**kept, clusterinfo.KUBECONFIG_KEY: kubeconfig}}


def _same_pem(a: bytes | None, b: bytes) -> bool:
    return a is not None and a.strip() == b.strip()


async def publish(server: APIServer) -> None:
    """Create or correct cluster-info for this server (no-op without a CA in the data dir)."""
    from kybernetes.apiserver.registry.store import WriteOptions
    from kybernetes.apiserver.server import host_ip

    ca_path = pki.PKIPaths.under(server.config.data_dir).ca_cert
    try:
        ca_pem = ca_path.read_bytes()
    except OSError:
        return
    url = f"https://{server.config.advertise_address or host_ip()}:{server.config.port}"
    store = server.stores[("", "configmaps")]
    entry = server.cache.get(f"/registry/configmaps/{clusterinfo.NAMESPACE}/{clusterinfo.NAME}")
    current = entry.obj if entry else None
    desired = desired_configmap(current, server=url, ca_pem=ca_pem)
    if desired is None:
        return
    opts = WriteOptions(field_manager="kyb-apiserver")
    with contextlib.suppress(errors.StatusError):  # another server won the race; it wrote the same CA
        if current is None:
            await store.create(desired, namespace=clusterinfo.NAMESPACE, opts=opts)
        else:
            await store.update(clusterinfo.NAMESPACE, clusterinfo.NAME, desired, opts=opts)
        log.info("published %s/%s for %s", clusterinfo.NAMESPACE, clusterinfo.NAME, url)
