"""The resource metrics pipeline: ``metrics.k8s.io/v1beta1`` for ``kubectl top`` and autoscalers.

Upstream runs metrics-server as an aggregated API; here the pipeline lives inside the API
server process (see docs/metrics.md for why):

    summary   kubelet ``/stats/summary`` JSON -> points, points -> usage (pure)
    store     the latest usable usage per node, pod and container, in memory
    scraper   every period: which nodes to ask (pure), ask them, feed the store
    objects   NodeMetrics / PodMetrics objects, lists and Tables (pure)
    api       the read-only REST endpoints and their discovery entries
"""
