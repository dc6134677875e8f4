"""Server-side apply as upstream's structured-merge-diff does it, over plain JSON objects.

``typeinfo`` gives each node its merge semantics from the schema declarations, ``fieldpath``
the field sets and their FieldsV1 form, ``walk`` the set/compare/merge/remove walks and
``operation`` one apply with its conflicts and managedFields. Update-operation bookkeeping
lives in ``kybernetes.machinery.managedfields``. (This package module imports nothing, so
that managedfields and operation can import its modules without a cycle.)
"""
