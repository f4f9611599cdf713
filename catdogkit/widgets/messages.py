"""The HTML of the messages widgets show: notes, progress words and errors, one look everywhere."""
import html
import traceback

from catdogkit.errors import CatDogKitError
from catdogkit.i18n import _

COLOURS = {"done": "#1b5e20", "info": "#555555", "error": "#b71c1c"}


def note_html(text, kind="done"):
    """``text`` (escaped) as one line in the colour of ``kind``: "done", "info" or "error"."""
    return f'<div style="color:{COLOURS[kind]}">{html.escape(str(text))}</div>'


def error_html(error, context=""):
    """An error as HTML: a CatDogKitError as its plain message, anything else with its type
    and its traceback folded, so no error is lost. ``context`` names what failed."""
    prefix = f"{context}: " if context else ""
    if isinstance(error, CatDogKitError):
        return note_html(f"{prefix}{error}", "error")
    trace = html.escape("".join(traceback.format_exception(error)))
    return (note_html(prefix + _("Something went wrong: {kind}: {error}").format(
        kind=type(error).__name__, error=error), "error")
            + f'<details><summary>{_("details")}</summary><pre style="font-size:small">{trace}</pre></details>')
