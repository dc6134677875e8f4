"""Example out-of-tree scheduler plugins (see `label_preference`)."""
