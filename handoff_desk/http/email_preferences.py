"""The page each email's link opens: its recipient's email preferences, shown and changed with
the link's signed token alone (resolvers/notification_prefs.py). It logs nobody in: the token
opens this page for one user, and nothing else of the desk.

GET shows the preferences; POST (a plain form, the token in a hidden field) changes them. A
page of its own, server-rendered, with no script: it works from any mail client's browser.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from html import escape
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from db.enums import EscalationAlerts
from resolvers import notification_prefs
from resolvers.desk import Desk
from resolvers.errors import AuthenticationError
from resolvers.notification_prefs import ChoiceChange, MyPreferences

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token must not leave in a Referer
    "Cache-Control": "no-store",
}
_FORM_MAX = 4096
_ALERTS = {
    EscalationAlerts.ALL: "every new escalation",
    EscalationAlerts.HIGH_AND_URGENT: "high and urgent ones only",
    EscalationAlerts.NONE: "none",
}
_DEFAULT = "default"  # the form's value for "follow the account's default"


def page(desk: Desk) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        if request.method == "POST":
            body = await request.body()
            if len(body) > _FORM_MAX:
                return _answer("That form is too large.", status=413)
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
            token = form.get("token", "")
            try:
                change = _change(form)
                mine = await notification_prefs.set_preferences_by_link(desk, token, change)
            except AuthenticationError as error:
                return _answer(str(error), status=403)
            except ValueError:
                return _answer("That form is not one this page sent.", status=400)
            return _answer(_form(token, mine, saved=True))
        token = request.query_params.get("token", "")
        try:
            mine = await notification_prefs.preferences_by_link(desk, token)
        except AuthenticationError as error:
            return _answer(str(error), status=403)
        return _answer(_form(token, mine, saved=False))

    return endpoint


def _change(form: dict[str, str]) -> ChoiceChange:
    alerts = form.get("new_escalations", _DEFAULT)
    return ChoiceChange(
        new_escalations=None if alerts == _DEFAULT else EscalationAlerts(alerts),
        my_escalations=_flag(form.get("my_escalations", _DEFAULT)),
        in_app_only=_flag(form.get("in_app_only", _DEFAULT)),
        given=frozenset({"new_escalations", "my_escalations", "in_app_only"}),
    )


def _flag(value: str) -> bool | None:
    if value == _DEFAULT:
        return None
    if value in ("yes", "no"):
        return value == "yes"
    raise ValueError(value)


def _answer(content: str, *, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        "<title>Email preferences · Handoff Desk</title>"
        "<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:2rem auto;"
        "padding:0 1rem}fieldset{margin:1rem 0}label{display:block;margin:.25rem 0}</style>"
        f"</head><body><h1>Email preferences</h1>{content}</body></html>"
    )
    if status != 200:
        html = html.replace(content, f"<p role=alert>{escape(content)}</p>")
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


def _form(token: str, mine: MyPreferences, *, saved: bool) -> str:
    defaults, choice = mine.defaults, mine.choice

    def options(name: str, chosen: str | None, values: dict[str, str], default: str) -> str:
        rows = [(_DEFAULT, f"the account's default ({default})"), *values.items()]
        return "".join(
            f'<label><input type=radio name={name} value="{escape(value)}"'
            f"{' checked' if (chosen or _DEFAULT) == value else ''}> {escape(text)}</label>"
            for value, text in rows
        )

    def yes_no(value: bool | None) -> str | None:
        return None if value is None else ("yes" if value else "no")

    yes_no_values = {"yes": "yes", "no": "no"}
    return (
        ("<p role=status>Saved.</p>" if saved else "")
        + f"<p>For {escape(mine.user.name)} &lt;{escape(mine.user.email)}&gt;. "
        "This page changes which emails you get, nothing else; it does not log you in.</p>"
        '<form method=post action="' + notification_prefs.LINK_PATH + '">'
        f'<input type=hidden name=token value="{escape(token)}">'
        "<fieldset><legend>New escalations of the team</legend>"
        + options(
            "new_escalations",
            choice.new_escalations,
            {k.value: v for k, v in _ALERTS.items()},
            _ALERTS[defaults.new_escalations],
        )
        + "</fieldset><fieldset><legend>When one I escalated is claimed, transferred or "
        "overdue</legend>"
        + options(
            "my_escalations",
            yes_no(choice.my_escalations),
            yes_no_values,
            "yes" if defaults.my_escalations else "no",
        )
        + "</fieldset><fieldset><legend>In the desk only: no such emails at all</legend>"
        + options(
            "in_app_only",
            yes_no(choice.in_app_only),
            yes_no_values,
            "yes" if defaults.in_app_only else "no",
        )
        + "</fieldset><button type=submit>Save</button></form>"
    )
