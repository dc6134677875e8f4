"""What an authorizer is asked: who wants to do what to which resource (or non-resource path).

Built from the parsed request (``RequestInfo``) and the authenticated user, or from the spec of
a SubjectAccessReview. Upstream's request-info factory also names the object of a list or watch
whose field selector pins ``metadata.name``; the Node authorizer relies on that (a kubelet watches
one Secret by name), so ``from_request`` does the same without changing how the request is served.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kybernetes.apiserver.authn import UserInfo
from kybernetes.apiserver.requestinfo import RequestInfo


@dataclass(frozen=True, slots=True)
class Attributes:
    user: UserInfo
    verb: str
    is_resource_request: bool
    path: str = ""
    group: str = ""
    version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    # field=value requirements of the request's field selector (only exact matches are kept)
    field_equals: tuple[tuple[str, str], ...] = ()

    def field(self, name: str) -> str | None:
        for k, v in self.field_equals:
            if k == name:
                return v
        return None


def exact_field_requirements(selector: str) -> tuple[tuple[str, str], ...]:
    """`a=b,c==d,e!=f` → (("a","b"), ("c","d")): the equality requirements only."""
    out: list[tuple[str, str]] = []
    for part in selector.split(","):
        part = part.strip()
        if not part or "!=" in part:
            continue
        key, sep, value = part.partition("==") if "==" in part else part.partition("=")
        if sep:
            out.append((key.strip(), value.strip()))
    return tuple(out)


def from_request(user: UserInfo, info: RequestInfo, query: Mapping[str, str]) -> Attributes:
    if not info.is_resource_request:
        return Attributes(user=user, verb=info.verb, is_resource_request=False, path=info.path)
    field_equals = exact_field_requirements(query.get("fieldSelector", ""))
    name = info.name
    if not name and info.verb in ("list", "watch"):
        name = dict(field_equals).get("metadata.name", "")
    namespace = info.namespace
    if info.resource == "namespaces" and info.name:
        namespace = info.name  # upstream: /api/v1/namespaces/<ns> is "in" the namespace it names
    return Attributes(
        user=user,
        verb=info.verb,
        is_resource_request=True,
        path=info.path,
        group=info.group,
        version=info.version,
        resource=info.resource,
        subresource=info.subresource,
        namespace=namespace,
        name=name,
        field_equals=field_equals,
    )
