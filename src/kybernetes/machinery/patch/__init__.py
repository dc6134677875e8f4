"""Patch formats the API accepts: JSON merge patch (RFC 7386) and strategic merge patch.

JSON patch (RFC 6902) is applied with the ``jsonpatch`` library by the caller.
"""

from __future__ import annotations

from kybernetes.machinery.patch.merge import apply_merge_patch
from kybernetes.machinery.patch.strategic import apply_strategic_merge_patch

__all__ = ["apply_merge_patch", "apply_strategic_merge_patch"]
