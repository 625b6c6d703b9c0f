"""/wp/v2/settings: the site's settings in WordPress's names, for administrators only
(WordPress's manage_options): 401 rest_forbidden for strangers, 403 for other users.

They are the admin's Site settings (blog/site_settings.py): a POST (or PUT, PATCH)
changes them through services.site_settings_update, checked as a whole: a value of
the wrong type or out of range is a 400 rest_invalid_param naming it, and nothing
changes. `null` puts a setting back to the site's default, as WordPress deletes the
option. What cloudblog does not make a setting (the site address, smilies, the front
page...) is answered with its fixed value; sending that value back is fine (clients
send the whole object), changing it is refused.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.core.exceptions import ValidationError

from blog import services
from blog.site_settings import Options, defaults, site_settings
from wordpress.api.errors import forbidden, invalid_params
from wordpress.api.routing import EDIT, READ, Call, Endpoint, Reply, Route, register

# name: (JSON Schema, description); the ones with a settings name are writable.
_FIELDS: dict[str, tuple[dict, str]] = {
    "title": ({"type": "string"}, "Site title."),
    "description": ({"type": "string"}, "Site tagline."),
    "url": ({"type": "string", "format": "uri", "readonly": True}, "Site URL."),
    "email": ({"type": "string", "format": "email"}, "This address is used for admin purposes, like new user notification."),
    "timezone": ({"type": "string"}, "A city in the same timezone as you."),
    "date_format": ({"type": "string"}, "A date format for all date strings."),
    "time_format": ({"type": "string"}, "A time format for all time strings."),
    "start_of_week": ({"type": "integer"}, "A day number of the week that the week should start on."),
    "language": ({"type": "string"}, "WordPress locale code."),
    "use_smilies": ({"type": "boolean"}, "Convert emoticons like :-) and :-P to graphics on display."),
    "default_category": ({"type": "integer"}, "Default post category."),
    "default_post_format": ({"type": "string"}, "Default post format."),
    "posts_per_page": ({"type": "integer"}, "Blog pages show at most."),
    "show_on_front": ({"type": "string"}, "What to show on the front page"),
    "page_on_front": ({"type": "integer"}, "The ID of the page that should be displayed on the front page"),
    "page_for_posts": ({"type": "integer"}, "The ID of the page that should display the latest posts"),
    "default_ping_status": ({"type": "string", "enum": ["open", "closed"]}, "Allow link notifications from other blogs (pingbacks and trackbacks) on new articles."),
    "default_comment_status": ({"type": "string", "enum": ["open", "closed"]}, "Allow people to submit comments on new posts."),
    "site_logo": ({"type": "integer"}, "Site logo."),
    "site_icon": ({"type": "integer"}, "Site icon."),
}  # fmt: skip
# The API's name for a setting the site stores under another name.
_STORED_AS = {"default_category": "default_category_id"}
_WRITABLE = (
    "title", "description", "email", "timezone", "date_format", "time_format",
    "start_of_week", "language", "default_category", "posts_per_page",
    "default_ping_status", "default_comment_status",
)  # fmt: skip
# Not settings here: the answer is always this (what the theme does).
_FIXED = {
    "use_smilies": False,
    "default_post_format": "0",
    "show_on_front": "posts",
    "page_on_front": 0,
    "page_for_posts": 0,
    "site_logo": 0,
    "site_icon": 0,
}


def _shown(options: Options, call: Call) -> dict:
    stored = vars(options)
    values = {name: stored[_STORED_AS.get(name, name)] for name in _WRITABLE}
    values["default_category"] = values["default_category"] or 0
    values["url"] = django_settings.SITE_URL or call.absolute("/").rstrip("/")
    values.update(_FIXED)
    return {name: values[name] for name in _FIELDS}


def _check(call: Call) -> None:
    if not services.site_settings_can_manage(call.user):
        raise forbidden(call.user)


def _get(call: Call) -> Reply:
    _check(call)
    return Reply(_shown(site_settings(), call))


def _changes(call: Call) -> dict:
    """The settings the body changes, in the site's names; the others must not differ."""
    current, initial = _shown(site_settings(), call), defaults()
    changes, errors = {}, {}
    for name, value in call.args.items():
        if name not in _FIELDS:
            continue
        stored = _STORED_AS.get(name, name)
        if name not in _WRITABLE:
            if value is not None and value != current[name]:
                errors[name] = (
                    f"{name} is not a setting of this site; it is always {current[name]!r}."
                )
        elif value is None:
            changes[stored] = initial[stored]  # WordPress deletes the option: its default
        elif value != current[name]:
            changes[stored] = None if name == "default_category" and value == 0 else value
    if errors:
        raise invalid_params(errors)
    return changes


def _update(call: Call) -> Reply:
    _check(call)
    changes = _changes(call)
    if not changes:
        return Reply(_shown(site_settings(), call))
    try:
        options = services.site_settings_update(changes=changes, by=call.user)
    except ValidationError as exc:
        api_name = {stored: name for name, stored in _STORED_AS.items()}
        raise invalid_params(
            {api_name.get(k, k): " ".join(v) for k, v in exc.message_dict.items()}
        ) from None
    return Reply(_shown(options, call))


def settings_schema() -> dict:
    properties = {
        name: {"description": description, **spec} for name, (spec, description) in _FIELDS.items()
    }
    return {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "title": "settings",
        "type": "object",
        "properties": properties,
        "required": list(properties),
    }


def register_routes() -> None:
    # Any setting may be sent as null (back to its default), as WordPress allows.
    writable = {
        name: {
            **{k: v for k, v in spec.items() if k not in ("readonly", "format")},
            "type": [spec["type"], "null"],
        }
        for name, spec in settings_schema()["properties"].items()
    }
    register(
        Route(
            "/wp/v2/settings",
            "wp/v2",
            [
                Endpoint(READ, _get, {}, permitted=services.site_settings_can_manage),
                Endpoint(
                    EDIT,
                    _update,
                    writable,
                    strict_body=True,
                    permitted=services.site_settings_can_manage,
                ),
            ],
            schema=settings_schema,
            answers="item",
        )
    )
