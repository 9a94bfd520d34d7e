"""Long work as resources: the Job table, the Celery app and the task lifecycle."""
