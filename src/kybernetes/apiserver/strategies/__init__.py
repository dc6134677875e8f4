"""Per-kind strategies; importing this package registers them all."""
