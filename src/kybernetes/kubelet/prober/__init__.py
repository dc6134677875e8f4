"""Container probes (liveness, readiness, startup) and lifecycle hooks (postStart, preStop).

``handlers`` runs one probe once; ``manager`` runs one asyncio task per (pod, container, probe
type) and keeps the results the agent reads; ``lifecycle`` runs postStart/preStop handlers.
"""
