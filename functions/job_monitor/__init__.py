"""job-monitor: timer-driven health check of SWR image sync jobs (see docs/job-monitor.md)."""
