"""Authorization: may this user do this? Asked after authentication, before admission.

Modules: ``attributes`` (the question), ``rules`` (RBAC rule matching and coverage), ``rbac``
(bindings → rules, from the watch cache), ``node`` (the Node authorizer), ``policy`` (the default
roles and bindings, as data), ``reconcile`` (writing them at start), ``authorizer`` (the chain,
403 messages, impersonation), ``escalation`` (no granting what one does not hold),
``accessreview`` lives in ``apiserver.registry``. docs/security.md tells the whole story.
"""
