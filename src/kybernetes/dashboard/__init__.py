"""The web dashboard: server-rendered pages over the Kubernetes API, as the logged-in user.

See docs/dashboard.md. `component.run` is what `kyb server` starts; `app.make_app` builds the
aiohttp application around a `Backend` (the real API server, or a fake in tests).
"""
