"""The controller manager and its control loops (one module per loop)."""
