"""The provisioning tasks: idempotent "ensure state" operations, one module per kind.

Each reads fresh data from its source and from Canvas, plans with :mod:`..plan`, and (unless
``ctx.dry_run``) applies the plan through the REST executor. Each returns a small JSON
summary for the task ledger: what it looked at, the planned operations and what was done.

========================  ===============================================================
``ensure_user``           users.py: ``username`` or ``person_id`` (Cerebrum)
``ensure_account``        accounts.py: ``location_id`` (SAP)
``ensure_course``         courses.py: ``fs_id`` of a teaching unit (6 parts) or activity (7)
``ensure_emne``           courses.py: ``fs_id`` of an emne (3 parts): its current units
``ensure_enrollments``    enrollments.py: ``fs_id`` of a unit or activity
``ensure_person_role``    enrollments.py: ``personrolle`` (``personløpenummer,rollenummer``)
``ensure_user_roles``     roles.py: ``employee_id`` (SAP) - account roles from SAP roles
``apply_operation``       operations.py: one planned change a resync could not make (its
                          dead letter), re-planned against Canvas as it is now
========================  ===============================================================

Shared steps: ``steps.py`` (apply a plan and summarise it) and ``sections.py`` (sync one
section's enrollments). The task modules import each other one way only, at the top.
"""
