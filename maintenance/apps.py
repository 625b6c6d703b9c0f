from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    """Site-wide chores: single-machine backup and restore, migrations once per release."""

    name = "maintenance"
    verbose_name = "Maintenance"
