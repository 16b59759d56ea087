"""The backup service: what runs around the engine when backups run on their own.

``status`` (the shared record of the latest run), ``runner`` (one run with status, log,
priority, after_backup and e-mail; "Start now"), ``notify`` (the status e-mail), ``logs`` (log
file and debug switch), ``scheduler`` (the APScheduler service; the only module that imports
APScheduler), ``tasks`` (editing the schedule in the config file), ``configedit`` (rewriting
single keys of a TOML file) and ``report`` (notebooks run as HTML reports).

Nothing below this layer imports it, and ``import workbench`` does not load it: its public
functions (``start_copy``, ``copy_status``, the task editors) load on first use.
"""
