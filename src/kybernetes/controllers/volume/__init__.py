"""PersistentVolume loops: the binder (``pvcontroller``), the built-in local-path provisioner
(``localpath``) and claim protection (``pvcprotection``)."""
