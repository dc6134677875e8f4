"""The node agent: runs the pods bound to its node through containerd (CRI v1).

Layout: ``cri/`` (our own CRI .proto and an asyncio client), ``containerd`` (config rendering and
supervision of a private containerd), ``runtime_state`` (what the runtime reports, as plain data),
pure planners (``actions``, ``status``, ``qos``, ``resources``, ``envvars``), ``volumes/``,
``prober/``, ``server`` (the kubelet HTTPS API) and ``agent`` (the loop that ties them together).
"""
