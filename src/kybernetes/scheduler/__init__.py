"""The scheduler: assigns unscheduled pods to nodes through ``pods/binding``, as kube-scheduler does.

    framework/   extension points, Status, CycleState, NodeInfo, plugin registry, profiles
    plugins/     the default (in-tree) plugins under upstream's names
    queue        active / backoff / unschedulable queues, moved by cluster events
    cache        nodes and pods from informers plus assumed pods; per-cycle snapshots
    algorithm    one scheduling attempt: filter, score, select a host (pure over a snapshot)
    scheduler    the loop: pop, schedule, assume, reserve, permit, bind in the background
    config       KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) as YAML
    app          `kyb scheduler` and the `kyb server` component
"""
