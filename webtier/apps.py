from django.apps import AppConfig


class WebtierConfig(AppConfig):
    """What keeps the web tier stateless: replica routing, the page cache, health."""

    name = "webtier"
    verbose_name = "Web tier"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from webtier import users

        users.connect()
