"""cel-go's strings extension (placeholder; filled in below the skeleton)."""
