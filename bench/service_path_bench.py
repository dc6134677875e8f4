"""Service path overhead on a real node (issue 7 §7): how many short TCP connections per second go
through a Service front end compared with straight to the pod, measured in the same run.

One `kyb server` with its node (containerd, CNI bridge, the nftables proxy); a server pod and a client
pod. The server pod runs busybox httpd (one fork per connection) and, beside it, a static C server
that answers without forking, so that the path's own cost weighs more in the second set of figures. Rounds
alternate the two targets so that machine noise hits both alike; each figure is the median round.

    in the client pod, busybox only:  a `wget` loop (busybox runs the applet in the shell, timed with
                                      /proc/uptime, 10 ms resolution): ClusterIP vs pod IP
    in the client pod, static tool:   a small C program (built here with gcc -static, given to the
                                      pod by a hostPath volume) that connects, sends one GET, reads
                                      to EOF and closes, N times: ClusterIP vs pod IP
    from the host, Python sockets:    the same loop to node IP:NodePort vs pod IP

The ratio is front end / direct connections per second (1.0 = no overhead), the median over rounds
of back-to-back pairs (this machine is shared and noisy). The run also checks
the health-check node port of a LoadBalancer Service with externalTrafficPolicy Local on this node
(200 with the local endpoint, 503 once it is gone, closed once the Service is). Runs as root; uses
port 18680, cluster CIDR 10.54.0.0/16, bridge kybq2 and /tmp/kyb-q2. Prints JSON.

    .venv/bin/python bench/service_path_bench.py [--wget 500] [--tool 1000] [--host 1000] [--rounds 9]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Generator
from pathlib import Path
from typing import Any, cast

from kybernetes.testing.cluster import KybServer
from kybernetes.testing.node import phase, pod, start_node_server, wait_for

DATA_DIR = Path("/tmp/kyb-q2")
API_PORT = 18680
CLUSTER_CIDR = "10.54.0.0/16"
BRIDGE = "kybq2"
IMAGE = "busybox:1.36"

CONLOAD_C = r"""
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* conload serve PORT: answer every connection with a fixed HTTP reply and close (no fork). */
static int serve(int port) {
    static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    struct sockaddr_in addr = {0};
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    char buf[4096];
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)port);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 512) != 0) { perror("listen"); return 1; }
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        if (read(fd, buf, sizeof buf) > 0 && write(fd, reply, sizeof reply - 1) < 0) perror("write");
        close(fd);
    }
}

/* conload IP PORT N: N sequential connections (connect, one GET, read to EOF, close); prints JSON. */
int main(int argc, char **argv) {
    if (argc == 3 && argv[1][0] == 's') return serve(atoi(argv[2]));
    if (argc != 4) { fprintf(stderr, "usage: conload IP PORT N | conload serve PORT\n"); return 2; }
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[2]));
    if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) { fprintf(stderr, "bad address\n"); return 2; }
    long n = atol(argv[3]), ok = 0, failed = 0;
    static const char request[] = "GET / HTTP/1.0\r\n\r\n";
    char buf[4096];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (long i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        long got = 0;
        ssize_t r = -1;
        if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
            write(fd, request, sizeof request - 1) == (ssize_t)(sizeof request - 1)) {
            while ((r = read(fd, buf, sizeof buf)) > 0) got += r;
        }
        if (r == 0 && got > 0) ok++; else failed++;
        if (fd >= 0) close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long ns = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("{\"connections\": %ld, \"ok\": %ld, \"failed\": %ld, \"ns\": %lld}\n", n, ok, failed, ns);
    return 0;
}
"""


def manifests(tools_dir: Path) -> str:
    web = ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8080 -h /www"]
    objs: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
         "spec": {"terminationGracePeriodSeconds": 0,
                  "containers": [{"name": "httpd", "image": IMAGE, "command": web,
                                  "ports": [{"containerPort": 8080}]},
                                 {"name": "static", "image": IMAGE, "command": ["/tools/conload", "serve", "8090"],
                                  "ports": [{"containerPort": 8090}],
                                  "volumeMounts": [{"name": "tools", "mountPath": "/tools"}]}],
                  "volumes": [{"name": "tools", "hostPath": {"path": str(tools_dir), "type": "Directory"}}]}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
         "spec": {"terminationGracePeriodSeconds": 0,
                  "containers": [{"name": "client", "image": IMAGE, "command": ["sleep", "36000"],
                                  "volumeMounts": [{"name": "tools", "mountPath": "/tools"}]}],
                  "volumes": [{"name": "tools", "hostPath": {"path": str(tools_dir), "type": "Directory"}}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
         "spec": {"selector": {"app": "web"}, "ports": [{"name": "httpd", "port": 80, "targetPort": 8080},
                                                         {"name": "static", "port": 90, "targetPort": 8090}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-np"},
         "spec": {"type": "NodePort", "selector": {"app": "web"},
                  "ports": [{"name": "httpd", "port": 80, "targetPort": 8080},
                            {"name": "static", "port": 90, "targetPort": 8090}]}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web-lb"},
         "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local", "selector": {"app": "web"},
                  "ports": [{"port": 8081, "targetPort": 8080}]}},
    ]
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": objs})


def get_json(kyb: KybServer, *args: str) -> Any:
    return json.loads(kyb.kubectl("get", *args, "-o", "json").stdout)


def ready_addresses(kyb: KybServer, service: str) -> list[str]:
    out = kyb.kubectl("get", "endpoints", service, "-o", "json", check=False)
    if out.returncode != 0:
        return []
    return [a["ip"] for s in json.loads(out.stdout).get("subsets", []) for a in s.get("addresses", [])]


def in_pod(kyb: KybServer, script: str, timeout: float = 300) -> str:
    return kyb.kubectl("exec", "client", "--", "sh", "-c", script, timeout=timeout).stdout


def wget_round(kyb: KybServer, ip: str, port: int, n: int) -> dict[str, float]:
    script = (f"read s _ < /proc/uptime; f=0; for i in $(seq {n}); do wget -qO- http://{ip}:{port}/ >/dev/null "
              f"|| f=$((f+1)); done; read e _ < /proc/uptime; echo $s $e $f")
    start, end, failed = in_pod(kyb, script).split()
    seconds = max(float(end) - float(start), 0.01)
    return {"connections": n, "failed": int(failed), "seconds": round(seconds, 3),
            "per_second": round((n - int(failed)) / seconds, 1)}


def tool_round(kyb: KybServer, ip: str, port: int, n: int) -> dict[str, float]:
    out = json.loads(in_pod(kyb, f"/tools/conload {ip} {port} {n}"))
    seconds = out["ns"] / 1e9
    return {"connections": n, "failed": out["failed"], "seconds": round(seconds, 3),
            "per_second": round(out["ok"] / seconds, 1)}


def host_round(ip: str, port: int, n: int) -> dict[str, float]:
    failed = 0
    t0 = time.perf_counter()
    for _ in range(n):
        try:
            with socket.create_connection((ip, port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                got = 0
                while chunk := s.recv(4096):
                    got += len(chunk)
                if not got:
                    failed += 1
        except OSError:
            failed += 1
    seconds = time.perf_counter() - t0
    return {"connections": n, "failed": failed, "seconds": round(seconds, 3),
            "per_second": round((n - failed) / seconds, 1)}


def compare(rounds: int, front: Any, direct: Any) -> dict[str, Any]:
    """Rounds of one front-end and one direct run back to back (which goes first alternates); the
    ratio is the median of the per-round ratios, so load that drifts between rounds cancels out."""
    fronts, directs = [], []
    for i in range(rounds):
        if i % 2:
            directs.append(direct())
            fronts.append(front())
        else:
            fronts.append(front())
            directs.append(direct())
    ratios = [f["per_second"] / d["per_second"] for f, d in zip(fronts, directs, strict=True) if d["per_second"]]
    return {"front_per_second": statistics.median(r["per_second"] for r in fronts),
            "direct_per_second": statistics.median(r["per_second"] for r in directs),
            "ratio_front_to_direct": round(statistics.median(ratios), 3) if ratios else None,
            "round_ratios": [round(r, 3) for r in ratios],
            "failed": sum(r["failed"] for r in fronts + directs), "front_rounds": fronts, "direct_rounds": directs}


def http_status(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except OSError:
        return 0, None


def health_check(kyb: KybServer) -> dict[str, Any]:
    """The LB Service's health-check node port on this node: 200 -> 503 (pod gone) -> closed."""
    hc = get_json(kyb, "svc", "web-lb")["spec"].get("healthCheckNodePort", 0)
    url = f"http://127.0.0.1:{hc}/healthz"
    out: dict[str, Any] = {"healthCheckNodePort": hc}
    if not hc:
        return out
    out["with_local_endpoint"] = wait_for(lambda: (r := http_status(url))[0] == 200 and r, timeout=30,
                                          what="health check 200")
    kyb.kubectl("delete", "pod", "web", "--grace-period=0", "--force", "--wait=false")
    out["without_local_endpoint"] = wait_for(lambda: (r := http_status(url))[0] == 503 and r, timeout=30,
                                             what="health check 503")
    kyb.kubectl("delete", "svc", "web-lb")
    wait_for(lambda: http_status(url)[0] == 0, timeout=30, what="health check port closed")
    out["closed_after_service_delete"] = True
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    nodes = cast(Generator[KybServer, None, None],
                 start_node_server(DATA_DIR, API_PORT, cluster_cidr=CLUSTER_CIDR, bridge=BRIDGE))
    kyb = next(nodes)
    try:
        tools = DATA_DIR / "tools"
        tools.mkdir(parents=True, exist_ok=True)
        (tools / "conload.c").write_text(CONLOAD_C)
        subprocess.run(["gcc", "-static", "-O2", "-o", str(tools / "conload"), str(tools / "conload.c")], check=True)
        kyb.kubectl("apply", "-f", "-", input=manifests(tools))
        wait_for(lambda: phase(kyb, "client") == "Running" and phase(kyb, "web") == "Running", timeout=120,
                 what="pods Running")
        wait_for(lambda: ready_addresses(kyb, "web"), timeout=60, what="web endpoint ready")
        pod_ip = pod(kyb, "web")["status"]["podIP"]
        node_ip = pod(kyb, "client")["status"]["hostIP"]
        cluster_ip = get_json(kyb, "svc", "web")["spec"]["clusterIP"]
        np_ports = {p["name"]: p["nodePort"] for p in get_json(kyb, "svc", "web-np")["spec"]["ports"]}
        node_port, static_node_port = np_ports["httpd"], np_ports["static"]
        # every path answers before anything is timed
        wait_for(lambda: tool_round(kyb, cluster_ip, 80, 5)["failed"] == 0, timeout=30, what="ClusterIP answers")
        wait_for(lambda: tool_round(kyb, cluster_ip, 90, 5)["failed"] == 0, timeout=30, what="ClusterIP:90 answers")
        wait_for(lambda: host_round(node_ip, node_port, 5)["failed"] == 0, timeout=30, what="NodePort answers")
        out: dict[str, Any] = {
            "pod_ip": pod_ip, "cluster_ip": cluster_ip, "node_ip": node_ip, "node_port": node_port,
            "static_node_port": static_node_port, "rounds": args.rounds,
            "pod_wget_clusterip_vs_pod": compare(args.rounds, lambda: wget_round(kyb, cluster_ip, 80, args.wget),
                                                 lambda: wget_round(kyb, pod_ip, 8080, args.wget)),
            "pod_tool_clusterip_vs_pod": compare(args.rounds, lambda: tool_round(kyb, cluster_ip, 80, args.tool),
                                                 lambda: tool_round(kyb, pod_ip, 8080, args.tool)),
            "host_nodeport_vs_pod": compare(args.rounds, lambda: host_round(node_ip, node_port, args.host),
                                            lambda: host_round(pod_ip, 8080, args.host)),
            # the same with a server that does not fork, so the path's own cost weighs more
            "pod_tool_clusterip_vs_pod_static_server": compare(
                args.rounds, lambda: tool_round(kyb, cluster_ip, 90, args.tool),
                lambda: tool_round(kyb, pod_ip, 8090, args.tool)),
            "host_nodeport_vs_pod_static_server": compare(
                args.rounds, lambda: host_round(node_ip, static_node_port, args.host),
                lambda: host_round(pod_ip, 8090, args.host)),
        }
        out["health_check"] = health_check(kyb)
        return out
    finally:
        nodes.close()  # deletes pods, stops the server, tears the node down


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--wget", type=int, default=500, help="connections per wget-loop round (in the pod)")
    ap.add_argument("--tool", type=int, default=1000, help="connections per static-tool round (in the pod)")
    ap.add_argument("--host", type=int, default=1000, help="connections per round from the host")
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args()
    out = run(args)
    json.dump(out, sys.stdout, indent=2)
    print()


if __name__ == "__main__":
    main()
