"""Schema declarations of the built-in kinds; ``REGISTRY`` holds every message."""

from kybernetes.api.schema import SchemaRegistry

REGISTRY = SchemaRegistry()
