from wordpress.app_passwords import ApplicationPassword  # noqa: F401
