from django.apps import AppConfig
from django.conf import settings


class WorkerConfig(AppConfig):
    """The task tier: SQS backend, outbox, task runs, /worker/, run_worker."""

    name = "worker"
    verbose_name = "Worker tier"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from webtier import health
        from worker import registry
        from worker.sqs import queue_check, sqs_client

        # Worker instances live on the queue; web instances only send to it (a failed
        # send is logged and the request still succeeds), so there it only degrades.
        health.register_check(
            "queue",
            queue_check,
            enabled=lambda: settings.TASKS_BACKEND == "sqs",
            required=lambda: settings.WORKER_INSTANCE,
            prepare=sqs_client,
        )
        registry.register_periodic("clear-sessions", "worker.tasks.clear_sessions")
        registry.register_periodic("flush-outbox", "worker.tasks.flush_outbox")
        registry.register_moved("blog.tasks.clear_sessions", "worker.tasks.clear_sessions")
        registry.register_moved("blog.tasks.flush_outbox", "worker.tasks.flush_outbox")
