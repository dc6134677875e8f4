"""Priority preemption for the scheduler (upstream's DefaultPreemption and its nominator).

- `nominator`: pods nominated to a node by an earlier preemption, and Filter runs that count them.
- `victims`: the pure decisions — who may preempt, which pods on a node must go, which node wins.
The plugin that acts on them (API writes, events) is `plugins.default_preemption`.
"""
