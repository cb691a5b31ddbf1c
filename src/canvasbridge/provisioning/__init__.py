"""Keep Canvas in step with Cerebrum, SAP and FS (the UiO design's "canvas-ms").

Public pieces (see docs/provisioning.md)::

    parsers.cerebrum:parse, parsers.fs:parse, parsers.sap:parse      # Envelope -> [TaskCall]
    tasks.users:ensure_user, tasks.accounts:ensure_account,          # engine tasks
    tasks.courses:ensure_course / ensure_emne,
    tasks.enrollments:ensure_enrollments / ensure_person_role, tasks.roles:ensure_user_roles
    tasks.operations:apply_operation                                  # a resync's dead letters
    settings.ProvisioningSettings                                     # the `provisioning:` section
    plan.plan_user / plan_course / plan_enrollments / plan_snapshot   # pure diffs -> Operations
    resync.resync(Sources(...), settings, ["all"], dry_run=True)      # the full resync
"""
