"""Early warning (预警, issue #11): detectors that notice what is unusual now, and alerts.

- detect     pure detectors: surge, cluster, recurring, device (data in, findings out)
- models     the alerts, their evidence, and the IoT alarm log
- store      findings become alerts (a growing alert updates itself), scoped reads, state changes
- job        the scheduler's incremental run (only what new tickets and alarms can change)
"""
