"""The Pod Security Standards as pure checks: (pod metadata, pod spec) → a violation or None.

Each check has an id, a level (baseline or restricted) and, for restricted checks that tighten
a baseline one, the id it replaces. A level runs its own checks plus those of the levels below,
in id order, as upstream's evaluator does; a violation is a (reason, detail) pair and upstream's
texts are kept because users and tests read them
(`allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)`).

Every policy version is evaluated with the latest checks: the versioned differences upstream
keeps for old versions (e.g. fewer allowed sysctls) are not modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kybernetes.apiserver.admission import Obj
from kybernetes.apiserver.admission.plugins._common import containers

Violation = tuple[str, str]
CheckFn = Callable[[Obj, Obj], Violation | None]

BASELINE = "baseline"
RESTRICTED = "restricted"
PRIVILEGED = "privileged"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)

_BASELINE_CAPABILITIES = frozenset({"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
                                    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
_SAFE_SYSCTLS = frozenset({"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                           "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
                           "net.ipv4.ip_local_reserved_ports", "net.ipv4.tcp_keepalive_time",
                           "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
                           "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
_ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim",
                           "projected", "secret")
_RESTRICTED_VOLUME_SOURCES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi",
                              "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile",
                              "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk", "portworxVolume",
                              "scaleIO", "storageos")
_APPARMOR_PREFIX = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_OK = ("RuntimeDefault", "Localhost")


def join_quote(items: list[str]) -> str:
    return '"' + '", "'.join(items) + '"' if items else ""


def plural(singular: str, many: str, count: int) -> str:
    return singular if count == 1 else many


def _named(names: list[str]) -> str:
    return f"{plural('container', 'containers', len(names))} {join_quote(names)}"


def _sc(c: Obj) -> Obj:
    sc = c.get("securityContext")
    return sc if isinstance(sc, dict) else {}


def _pod_sc(spec: Obj) -> Obj:
    sc = spec.get("securityContext")
    return sc if isinstance(sc, dict) else {}


# --- baseline ------------------------------------------------------------------------------------
def app_armor(meta: Obj, spec: Obj) -> Violation | None:
    setters: list[str] = []
    bad_values: set[str] = set()
    pod_profile = _pod_sc(spec).get("appArmorProfile")
    if isinstance(pod_profile, dict) and pod_profile.get("type") not in _SECCOMP_OK:
        setters.append("pod")
        bad_values.add(str(pod_profile.get("type", "")))
    bad: list[str] = []
    for c in containers(spec):
        profile = _sc(c).get("appArmorProfile")
        if isinstance(profile, dict) and profile.get("type") not in _SECCOMP_OK:
            bad.append(c.get("name", ""))
            bad_values.add(str(profile.get("type", "")))
    if bad:
        setters.append(_named(bad))
    values = sorted(bad_values)
    annotations = sorted(f'{k}="{v}"' for k, v in ((meta.get("annotations") or {}).items())
                         if k.startswith(_APPARMOR_PREFIX)
                         and not (v == "" or v == "runtime/default" or str(v).startswith("localhost/")))
    if annotations:
        values += annotations
        setters.append(plural("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    return (plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(values)),
            f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(values)}")


def capabilities_baseline(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    caps: set[str] = set()
    for c in containers(spec):
        added = [str(x) for x in ((_sc(c).get("capabilities") or {}).get("add") or [])]
        extra = [x for x in added if x not in _BASELINE_CAPABILITIES]
        if extra:
            bad.append(c.get("name", ""))
            caps.update(extra)
    if not bad:
        return None
    return ("non-default capabilities",
            f"{_named(bad)} must not include {join_quote(sorted(caps))} in securityContext.capabilities.add")


def host_namespaces(meta: Obj, spec: Obj) -> Violation | None:
    used = sorted(k for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k))
    return ("host namespaces", ", ".join(used)) if used else None


def host_path_volumes(meta: Obj, spec: Obj) -> Violation | None:
    names = [v.get("name", "") for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("hostPath")]
    if not names:
        return None
    return "hostPath volumes", f"{plural('volume', 'volumes', len(names))} {join_quote(names)}"


def host_ports(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    ports: set[int] = set()
    for c in containers(spec):
        used = [int(p.get("hostPort") or 0) for p in c.get("ports") or [] if isinstance(p, dict)]
        used = [p for p in used if p]
        if used:
            bad.append(c.get("name", ""))
            ports.update(used)
    if not bad:
        return None
    port_text = ", ".join(sorted(str(p) for p in ports))
    return ("hostPort", f"{_named(bad)} {plural('uses', 'use', len(bad))} "
                        f"{plural('hostPort', 'hostPorts', len(ports))} {port_text}")


def privileged(meta: Obj, spec: Obj) -> Violation | None:
    bad = [c.get("name", "") for c in containers(spec) if _sc(c).get("privileged") is True]
    return ("privileged", f"{_named(bad)} must not set securityContext.privileged=true") if bad else None


def proc_mount(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    kinds: set[str] = set()
    for c in containers(spec):
        pm = _sc(c).get("procMount")
        if pm is not None and pm != "Default":
            bad.append(c.get("name", ""))
            kinds.add(str(pm))
    if not bad:
        return None
    return "procMount", f"{_named(bad)} must not set securityContext.procMount to {join_quote(sorted(kinds))}"


def selinux_options(meta: Obj, spec: Obj) -> Violation | None:
    bad_types: set[str] = set()
    flags = {"user": False, "role": False}

    def ok(opts: Obj) -> bool:
        good = True
        if str(opts.get("type", "")) not in _SELINUX_TYPES:
            bad_types.add(str(opts.get("type", "")))
            good = False
        for key in ("user", "role"):
            if opts.get(key):
                flags[key] = True
                good = False
        return good

    setters: list[str] = []
    pod_opts = _pod_sc(spec).get("seLinuxOptions")
    if isinstance(pod_opts, dict) and not ok(pod_opts):
        setters.append("pod")
    bad = [c.get("name", "") for c in containers(spec)
           if isinstance(_sc(c).get("seLinuxOptions"), dict) and not ok(_sc(c)["seLinuxOptions"])]
    if bad:
        setters.append(_named(bad))
    if not setters:
        return None
    data: list[str] = []
    if bad_types:
        data.append(f"{plural('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
    if flags["user"]:
        data.append("user may not be set")
    if flags["role"]:
        data.append("role may not be set")
    return ("seLinuxOptions",
            f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}")


def _seccomp_setters(spec: Obj) -> tuple[list[str], set[str], bool, list[str]]:
    """(explicit bad setters, bad values, pod sets a good profile, containers with no profile)."""
    setters: list[str] = []
    values: set[str] = set()
    pod_ok = False
    pod_profile = _pod_sc(spec).get("seccompProfile")
    if isinstance(pod_profile, dict):
        if pod_profile.get("type") in _SECCOMP_OK:
            pod_ok = True
        else:
            setters.append("pod")
            values.add(str(pod_profile.get("type", "")))
    bad: list[str] = []
    unset: list[str] = []
    for c in containers(spec):
        profile = _sc(c).get("seccompProfile")
        if isinstance(profile, dict):
            if profile.get("type") not in _SECCOMP_OK:
                bad.append(c.get("name", ""))
                values.add(str(profile.get("type", "")))
        else:
            unset.append(c.get("name", ""))
    if bad:
        setters.append(_named(bad))
    return setters, values, pod_ok, unset


def seccomp_baseline(meta: Obj, spec: Obj) -> Violation | None:
    setters, values, _, _ = _seccomp_setters(spec)
    if not setters:
        return None
    return ("seccompProfile",
            f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {join_quote(sorted(values))}")


def sysctls(meta: Obj, spec: Obj) -> Violation | None:
    names = [str(s.get("name", "")) for s in _pod_sc(spec).get("sysctls") or []
             if isinstance(s, dict) and s.get("name") not in _SAFE_SYSCTLS]
    return ("forbidden sysctls", ", ".join(names)) if names else None


def windows_host_process(meta: Obj, spec: Obj) -> Violation | None:
    setters: list[str] = []
    if (_pod_sc(spec).get("windowsOptions") or {}).get("hostProcess") is True:
        setters.append("pod")
    bad = [c.get("name", "") for c in containers(spec) if (_sc(c).get("windowsOptions") or {}).get("hostProcess") is True]
    if bad:
        setters.append(_named(bad))
    if not setters:
        return None
    return "hostProcess", f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true"


# --- restricted ----------------------------------------------------------------------------------
def allow_privilege_escalation(meta: Obj, spec: Obj) -> Violation | None:
    bad = [c.get("name", "") for c in containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return "allowPrivilegeEscalation != false", f"{_named(bad)} must set securityContext.allowPrivilegeEscalation=false"


def capabilities_restricted(meta: Obj, spec: Obj) -> Violation | None:
    missing_drop: list[str] = []
    adding: list[str] = []
    caps: set[str] = set()
    for c in containers(spec):
        capabilities = _sc(c).get("capabilities")
        if not isinstance(capabilities, dict):
            missing_drop.append(c.get("name", ""))
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing_drop.append(c.get("name", ""))
        extra = [str(x) for x in capabilities.get("add") or [] if x != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c.get("name", ""))
            caps.update(extra)
    details: list[str] = []
    if missing_drop:
        details.append(f'{_named(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_named(adding)} must not include {join_quote(sorted(caps))} in securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def restricted_volumes(meta: Obj, spec: Obj) -> Violation | None:
    bad: list[str] = []
    kinds: set[str] = set()
    for v in spec.get("volumes") or []:
        if not isinstance(v, dict) or any(v.get(k) is not None for k in _ALLOWED_VOLUME_SOURCES):
            continue
        bad.append(str(v.get("name", "")))
        kinds.add(next((k for k in _RESTRICTED_VOLUME_SOURCES if v.get(k) is not None), "unknown"))
    if not bad:
        return None
    return ("restricted volume types",
            f"{plural('volume', 'volumes', len(bad))} {join_quote(bad)} {plural('uses', 'use', len(bad))} "
            f"{plural('restricted volume type', 'restricted volume types', len(kinds))} {join_quote(sorted(kinds))}")


def run_as_non_root(meta: Obj, spec: Obj) -> Violation | None:
    setters: list[str] = []
    pod_value = _pod_sc(spec).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit: list[str] = []
    implicit: list[str] = []
    for c in containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is False:
            explicit.append(c.get("name", ""))
        elif value is None and pod_value is not True:
            implicit.append(c.get("name", ""))
    if explicit:
        setters.append(_named(explicit))
    if setters:
        return "runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false"
    if implicit:
        return "runAsNonRoot != true", f"pod or {_named(implicit)} must set securityContext.runAsNonRoot=true"
    return None


def run_as_user(meta: Obj, spec: Obj) -> Violation | None:
    setters: list[str] = []
    if _pod_sc(spec).get("runAsUser") == 0:
        setters.append("pod")
    bad = [c.get("name", "") for c in containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        setters.append(_named(bad))
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def seccomp_restricted(meta: Obj, spec: Obj) -> Violation | None:
    setters, values, pod_ok, unset = _seccomp_setters(spec)
    if setters:
        return ("seccompProfile",
                f"{' and '.join(setters)} must not set securityContext.seccompProfile.type to {join_quote(sorted(values))}")
    if unset and not pod_ok:
        return ("seccompProfile",
                f'pod or {_named(unset)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return None


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    level: str
    fn: CheckFn
    replaces: tuple[str, ...] = field(default=())


CHECKS: tuple[Check, ...] = (
    Check("allowPrivilegeEscalation", RESTRICTED, allow_privilege_escalation),
    Check("appArmorProfile", BASELINE, app_armor),
    Check("capabilities_baseline", BASELINE, capabilities_baseline),
    Check("capabilities_restricted", RESTRICTED, capabilities_restricted, ("capabilities_baseline",)),
    Check("hostNamespaces", BASELINE, host_namespaces),
    Check("hostPathVolumes", BASELINE, host_path_volumes),
    Check("hostPorts", BASELINE, host_ports),
    Check("privileged", BASELINE, privileged),
    Check("procMount", BASELINE, proc_mount),
    Check("restrictedVolumes", RESTRICTED, restricted_volumes, ("hostPathVolumes",)),
    Check("runAsNonRoot", RESTRICTED, run_as_non_root),
    Check("runAsUser", RESTRICTED, run_as_user),
    Check("seLinuxOptions", BASELINE, selinux_options),
    Check("seccompProfile_baseline", BASELINE, seccomp_baseline),
    Check("seccompProfile_restricted", RESTRICTED, seccomp_restricted, ("seccompProfile_baseline",)),
    Check("sysctls", BASELINE, sysctls),
    Check("windowsHostProcess", BASELINE, windows_host_process),
)


def checks_for(level: str) -> list[Check]:
    if level == BASELINE:
        return [c for c in CHECKS if c.level == BASELINE]
    if level == RESTRICTED:
        replaced = {r for c in CHECKS if c.level == RESTRICTED for r in c.replaces}
        return [c for c in CHECKS if c.id not in replaced]
    return []


def evaluate(level: str, meta: Obj, spec: Obj) -> list[Violation]:
    """Every violation of `level` by a pod (metadata + spec), in check id order."""
    out: list[Violation] = []
    for check in checks_for(level):
        found = check.fn(meta, spec)
        if found is not None:
            out.append(found)
    return out


def forbidden_detail(violations: list[Violation]) -> str:
    """`reason (detail), reason (detail)` as upstream joins them."""
    return ", ".join(f"{reason} ({detail})" if detail else reason for reason, detail in violations)
