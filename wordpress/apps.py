from django.apps import AppConfig


class WordpressConfig(AppConfig):
    """Everything WordPress-compatible: WXR import and export, the /wp-json/ API, old URLs."""

    name = "wordpress"
    verbose_name = "WordPress"
    default_auto_field = "django.db.models.BigAutoField"
