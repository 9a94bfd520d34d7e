"""The Celery app: embedded SQLite broker by default, Redis (or any kombu URL) when configured."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_process_init

from backend.core.config import get_settings

TASK_MODULES = [
    "backend.projects.export",
    "backend.datasets.transfer",
    "backend.impulses.jobs",
    "backend.byo.jobs",
    "backend.byo.runs",
    "backend.deployments.jobs",
    "backend.tuner.jobs",
]

QUEUE_LIGHT = "light"
QUEUE_TRAINING = "training"
QUEUE_BUILD = "build"
ALL_QUEUES = (QUEUE_LIGHT, QUEUE_TRAINING, QUEUE_BUILD)


def make_celery() -> Celery:
    settings = get_settings()
    broker = settings.resolved_broker_url
    if broker.startswith("sqla+sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("tinystudio", broker=broker, include=TASK_MODULES)
    app.conf.update(
        task_ignore_result=True,
        result_backend=None,
        task_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_max_tasks_per_child=20,
        worker_hijack_root_logger=False,
        task_default_queue=QUEUE_LIGHT,
        broker_connection_retry_on_startup=True,
    )
    if not broker.startswith("sqla+"):
        # kombu's SQL transport hands these to create_engine, so only other brokers get them.
        app.conf.broker_transport_options = {"polling_interval": 0.25, "visibility_timeout": 3600}
    return app


celery_app = make_celery()


@worker_process_init.connect
def _warm_up_training_child(**_: object) -> None:
    """Loads TensorFlow in each pool process of a worker that serves the training queue, after
    the fork (never in the parent), so a training job does not wait for it."""
    if os.environ.get("TINYSTUDIO_WORKER_QUEUES", "").find(QUEUE_TRAINING) < 0:
        return
    from workers.learn.training import import_tensorflow

    import_tensorflow()
    import keras  # noqa: F401  (Keras 3 loads separately from TensorFlow)
