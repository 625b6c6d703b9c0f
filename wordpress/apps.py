from django.apps import AppConfig


class WordpressConfig(AppConfig):
    """Everything WordPress-compatible: WXR import and export, the /wp-json/ API, old URLs."""

    name = "wordpress"
    verbose_name = "WordPress"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from webtier import hooks
        from wordpress.api.context_processors import api_settings_hole
        from wordpress.api.middleware import cors_for_rest_route
        from wordpress.api.shared_reads import shared_read

        check_request_enabled.connect(cors_for_rest_route, dispatch_uid="wp-rest-route-cors")
        # Signed-in context=view reads of published content share the anonymous cache entry.
        hooks.register_shared_read(shared_read)
        hooks.register_hole("wp-api-settings", api_settings_hole)
