"""WordPress's error shape: {"code": ..., "message": ..., "data": {"status": N, ...}}."""

from __future__ import annotations


class WPError(Exception):
    """An answer in WordPress's error shape; raised anywhere below the dispatch view."""

    def __init__(self, code: str, message: str, status: int = 400, *, headers=None, **data) -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.data = code, message, status, data
        self.headers = dict(headers or {})

    def body(self) -> dict:
        return {
            "code": self.code,
            "message": self.message,
            "data": {"status": self.status, **self.data},
        }


def forbidden(user, code: str = "rest_forbidden", message: str = "") -> WPError:
    """WordPress's rest_authorization_required_code(): 401 for strangers, 403 for users."""
    status = 403 if user.is_authenticated else 401
    return WPError(code, message or "Sorry, you are not allowed to do that.", status)


def invalid_params(errors: dict[str, str]) -> WPError:
    return WPError(
        "rest_invalid_param",
        f"Invalid parameter(s): {', '.join(errors)}",
        400,
        params=errors,
        details={
            name: {"code": "rest_invalid_param", "message": message, "data": None}
            for name, message in errors.items()
        },
    )


def not_found(code: str, message: str) -> WPError:
    return WPError(code, message, 404)
