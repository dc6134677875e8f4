"""Descriptions of networking/v1 types and their fields, for OpenAPI and `kubectl explain`."""

from __future__ import annotations

P = "io.k8s.api.networking.v1."

_META = "Standard object metadata: name, namespace, labels, annotations and so on."

DOCS: dict[str, tuple[str, dict[str, str]]] = {
    P + "Ingress": (
        "An Ingress routes HTTP(S) traffic from outside the cluster to Services, by host name and path.",
        {
            "metadata": _META,
            "spec": "The routing rules and TLS settings the ingress controller should apply.",
            "status": "The addresses the ingress controller serves this Ingress on. Read-only.",
        },
    ),
    P + "IngressSpec": (
        "The desired routing of an Ingress.",
        {
            "ingressClassName": "The IngressClass whose controller implements this Ingress. Default: the class marked as default, if any.",
            "defaultBackend": "Where requests go that match no rule. Default: decided by the ingress controller.",
            "tls": "TLS settings: which hosts are served over HTTPS with which certificate Secret.",
            "rules": "Host and path rules, checked against each request; unmatched requests go to defaultBackend.",
        },
    ),
    P + "IngressTLS": (
        "A set of hosts served over TLS with one certificate.",
        {
            "hosts": "The host names the certificate covers; they should match hosts in the rules. Default: the controller's wildcard host.",
            "secretName": "The Secret (type kubernetes.io/tls, same namespace) holding the certificate and key. May be empty for SNI-only routing.",
        },
    ),
    P + "IngressRule": (
        "Routing for one host: requests whose Host matches are sent on by path.",
        {
            "host": "A DNS name such as foo.example.com, or a wildcard such as *.example.com; no IPs or ports. Empty matches every host.",
            "http": "The paths of this host and the backends they lead to.",
        },
    ),
    P + "IngressRuleValue": (
        "The protocol-specific part of an Ingress rule; only HTTP exists.",
        {
            "http": "The paths and the backends they lead to.",
        },
    ),
    P + "HTTPIngressRuleValue": (
        "The HTTP paths of an Ingress rule.",
        {
            "paths": "Paths and their backends; the most specific matching path wins.",
        },
    ),
    P + "HTTPIngressPath": (
        "A path and the backend that serves requests for it.",
        {
            "path": "The URL path to match, starting with /. Interpreted according to pathType.",
            "pathType": "How path matches: Exact, Prefix (by path element, so /foo matches /foo/bar but not /foobar) or ImplementationSpecific.",
            "backend": "The Service or resource that requests for this path go to.",
        },
    ),
    P + "IngressBackend": (
        "Where matched requests go: a Service port or another resource. Exactly one of the two is set.",
        {
            "service": "A Service in the Ingress's namespace, and one of its ports.",
            "resource": "Another object in the Ingress's namespace, such as a storage bucket, that the controller understands.",
        },
    ),
    P + "IngressServiceBackend": (
        "A Service and port an Ingress sends requests to.",
        {
            "name": "The name of the Service, in the Ingress's namespace.",
            "port": "The Service port, by name or number.",
        },
    ),
    P + "ServiceBackendPort": (
        "A Service port, named or numbered. Exactly one of name and number is set.",
        {
            "name": "The name of the Service port.",
            "number": "The number of the Service port.",
        },
    ),
    P + "IngressStatus": (
        "The observed state of an Ingress.",
        {
            "loadBalancer": "The addresses the Ingress is reachable at, set by the ingress controller.",
        },
    ),
    P + "IngressLoadBalancerStatus": (
        "The load balancer addresses of an Ingress.",
        {
            "ingress": "The addresses traffic for the Ingress should be sent to.",
        },
    ),
    P + "IngressLoadBalancerIngress": (
        "One address of an Ingress's load balancer.",
        {
            "ip": "The IP address, for load balancers reached by IP.",
            "hostname": "The DNS name, for load balancers reached by name.",
            "ports": "The ports of this address and their status.",
        },
    ),
    P + "IngressPortStatus": (
        "The status of one port of an Ingress load balancer address.",
        {
            "port": "The port number.",
            "protocol": "The port's protocol: TCP, UDP or SCTP.",
            "error": "Why the port is in trouble, as a CamelCase reason (such as a domain-prefixed one); empty when it is fine.",
        },
    ),
    P + "IngressClass": (
        "An IngressClass names an ingress controller; Ingresses pick one by ingressClassName.",
        {
            "metadata": _META
            + " The ingressclass.kubernetes.io/is-default-class annotation marks the default class.",
            "spec": "The controller implementing the class and its optional parameters.",
        },
    ),
    P + "IngressClassSpec": (
        "The controller and settings of an IngressClass.",
        {
            "controller": "The name of the controller that implements the class, as a domain-prefixed path such as example.com/ingress. Immutable.",
            "parameters": "An object holding further settings for the controller.",
        },
    ),
    P + "IngressClassParametersReference": (
        "A reference to the object holding an IngressClass's settings.",
        {
            "apiGroup": "The API group of the object; empty for the core group.",
            "kind": "The kind of the object.",
            "name": "The name of the object.",
            "scope": "Cluster (a cluster-scoped object) or Namespace (a namespaced one, see namespace). Default Cluster.",
            "namespace": "The namespace of the object; required when scope is Namespace, unset otherwise.",
        },
    ),
    P + "NetworkPolicy": (
        "A NetworkPolicy says which traffic may reach and leave the pods it selects.",
        {
            "metadata": _META,
            "spec": "Which pods the policy applies to and the traffic it allows.",
        },
    ),
    P + "NetworkPolicySpec": (
        "The pods a NetworkPolicy applies to and the traffic it allows. Policies only add permissions to each other.",
        {
            "podSelector": "The pods in this namespace the policy applies to; an empty selector means all of them.",
            "ingress": "Allowed incoming traffic; with policyTypes holding Ingress and no rules, nothing may come in.",
            "egress": "Allowed outgoing traffic; with policyTypes holding Egress and no rules, nothing may go out.",
            "policyTypes": "Which directions the policy restricts: Ingress, Egress or both. Default: Ingress, plus Egress when egress rules exist.",
        },
    ),
    P + "NetworkPolicyIngressRule": (
        "A kind of incoming traffic a NetworkPolicy allows: from these peers to these ports.",
        {
            "ports": "Destination ports the traffic may use; empty means every port.",
            "from": "Sources the traffic may come from; empty means any source.",
        },
    ),
    P + "NetworkPolicyEgressRule": (
        "A kind of outgoing traffic a NetworkPolicy allows: to these peers on these ports.",
        {
            "ports": "Destination ports the traffic may use; empty means every port.",
            "to": "Destinations the traffic may go to; empty means any destination.",
        },
    ),
    P + "NetworkPolicyPeer": (
        "A source or destination of traffic: pods, namespaces or an IP block.",
        {
            "podSelector": "Pods that match, in this namespace or, with namespaceSelector, in the selected namespaces.",
            "namespaceSelector": "Namespaces whose pods match (all of them, or those podSelector picks).",
            "ipBlock": "An IP range. Cannot be combined with the two selectors.",
        },
    ),
    P + "NetworkPolicyPort": (
        "A port, or range of ports, traffic may use.",
        {
            "protocol": "TCP, UDP or SCTP. Default TCP.",
            "port": "The port, as a number or a named container port. Unset means every port.",
            "endPort": "With a numeric port, the last port of the range port..endPort.",
        },
    ),
    P + "IPBlock": (
        "A range of IP addresses, minus some sub-ranges.",
        {
            "cidr": "The range, in CIDR form such as 192.168.1.0/24 or 2001:db8::/64.",
            "except": "Sub-ranges of cidr that do not belong to the block.",
        },
    ),
}
