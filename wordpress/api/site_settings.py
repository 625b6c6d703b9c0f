"""/wp/v2/settings: the site's settings in WordPress's names, for administrators only
(WordPress's manage_options), 401 for strangers and 403 for other users.

cloudblog reads these from the environment of every instance (SITE_NAME,
SITE_TAGLINE, POSTS_PER_PAGE, ...; README, "Configuration"), so that the web tier
stays stateless and all instances agree. A POST that sends a setting's current
value succeeds (clients send the whole object back); one that changes it is refused
with WordPress's rest_invalid_param, naming the variable to set, and changes nothing.
"""

from __future__ import annotations

from django.conf import settings

from blog import roles
from wordpress.api.errors import forbidden, invalid_params
from wordpress.api.routing import EDIT, READ, Call, Endpoint, Reply, Route, register

# name: (JSON type, description, the environment variable that sets it, or None)
_FIELDS: dict[str, tuple[str, str, str | None]] = {
    "title": ("string", "Site title.", "SITE_NAME"),
    "description": ("string", "Site tagline.", "SITE_TAGLINE"),
    "url": ("string", "Site URL.", "SITE_URL"),
    "email": ("string", "This address is used for admin purposes, like new user notification.", "DEFAULT_FROM_EMAIL"),
    "timezone": ("string", "A city in the same timezone as you.", "DJANGO_TIME_ZONE"),
    "date_format": ("string", "A date format for all date strings.", None),
    "time_format": ("string", "A time format for all time strings.", None),
    "start_of_week": ("integer", "A day number of the week that the week should start on.", None),
    "language": ("string", "WordPress locale code.", "DJANGO_LANGUAGE_CODE"),
    "use_smilies": ("boolean", "Convert emoticons like :-) and :-P to graphics on display.", None),
    "default_category": ("integer", "Default post category.", None),
    "default_post_format": ("string", "Default post format.", None),
    "posts_per_page": ("integer", "Blog pages show at most.", "POSTS_PER_PAGE"),
    "show_on_front": ("string", "What to show on the front page", None),
    "page_on_front": ("integer", "The ID of the page that should be displayed on the front page", None),
    "page_for_posts": ("integer", "The ID of the page that should display the latest posts", None),
    "default_ping_status": ("string", "Allow link notifications from other blogs (pingbacks and trackbacks) on new articles.", None),
    "default_comment_status": ("string", "Allow people to submit comments on new posts.", None),
    "site_logo": ("integer", "Site logo.", None),
    "site_icon": ("integer", "Site icon.", None),
}  # fmt: skip
_ENUMS = {"default_ping_status": ["open", "closed"], "default_comment_status": ["open", "closed"]}


def _may_manage(user) -> bool:
    # manage_options is the one capability only WordPress's administrators have; here it
    # is the Administrator role (superusers included), not a model permission.
    return roles.user_role(user) == roles.ADMINISTRATOR


def _locale() -> str:
    language, _, region = settings.LANGUAGE_CODE.partition("-")
    return f"{language}_{region.upper()}" if region else language


def current(call: Call) -> dict:
    return {
        "title": settings.SITE_NAME,
        "description": settings.SITE_TAGLINE,
        "url": settings.SITE_URL or call.absolute("/").rstrip("/"),
        "email": settings.DEFAULT_FROM_EMAIL,
        "timezone": settings.TIME_ZONE,
        # What the theme prints (Django's date format letters are PHP's).
        "date_format": "j F Y",
        "time_format": "H:i",
        "start_of_week": 1,
        "language": _locale(),
        "use_smilies": False,
        "default_category": 0,
        "default_post_format": "0",
        "posts_per_page": settings.POSTS_PER_PAGE,
        "show_on_front": "posts",
        "page_on_front": 0,
        "page_for_posts": 0,
        "default_ping_status": "closed",
        "default_comment_status": "open",
        "site_logo": 0,
        "site_icon": 0,
    }


def _check(call: Call) -> None:
    if not _may_manage(call.user):
        raise forbidden(call.user)


def _get(call: Call) -> Reply:
    _check(call)
    return Reply(current(call))


def _update(call: Call) -> Reply:
    _check(call)
    values = current(call)
    errors = {}
    for name, value in call.args.items():
        if name in values and value != values[name]:
            variable = _FIELDS[name][2]
            where = f"the {variable} environment variable" if variable else "cloudblog"
            errors[name] = f"{name} is set by {where} on every instance; it cannot change here."
    if errors:
        raise invalid_params(errors)
    return Reply(values)


def settings_schema() -> dict:
    properties = {
        name: {"description": description, "type": kind}
        for name, (kind, description, _) in _FIELDS.items()
    }
    for name, choices in _ENUMS.items():
        properties[name]["enum"] = choices
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "settings",
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }


def register_routes() -> None:
    writable = {
        name: {k: v for k, v in spec.items() if k != "readonly"}
        for name, spec in settings_schema()["properties"].items()
    }
    register(
        Route(
            "/wp/v2/settings",
            "wp/v2",
            [Endpoint(READ, _get, {}), Endpoint(EDIT, _update, writable, strict_body=True)],
            schema=settings_schema,
            answers="item",
        )
    )
