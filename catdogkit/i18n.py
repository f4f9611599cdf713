"""The kit's own words in the student's language: gettext catalogues and Spanish numbers.

English is the source language; other languages come from the compiled catalogues in
``catdogkit/locale/<lang>/LC_MESSAGES/catdogkit.mo`` (edit the ``.po`` beside it, then
``python -m catdogkit_dev.translate messages`` rebuilds the ``.mo``). The language is, in
this order: the one passed to :func:`set_language` (what ``cdk.lesson.setup(..., lang=)``
does), the environment variable ``CATDOGKIT_LANG``, the language written in the running
notebook's metadata (``metadata.catdogkit.lang``, as the Spanish lessons have), else English.

Numbers follow the CLDR/Babel ``es`` rules on Spanish pages: a decimal comma and thousands
grouped with a point, but only from five digits on (``1234`` but ``12.345``); a percent
sign after a no-break space (``85,3 %``).

Introduced in lesson 00.
"""
import functools
import gettext
import json
import os
from pathlib import Path

from catdogkit.errors import CatDogKitError

#: The environment variable that chooses the kit's language (``en`` or ``es``).
LANG_ENV = "CATDOGKIT_LANG"
LANGUAGES = ("en", "es")
DOMAIN = "catdogkit"
LOCALE_DIR = Path(__file__).with_name("locale")
_NO_BREAK_SPACE = "\u00a0"
_chosen = None


def _normalise(lang):
    """``"es"``, ``"es_ES.UTF-8"`` or ``"ES"`` → ``"es"``; a clear error for an unknown language."""
    code = str(lang).strip().replace("-", "_").split("_")[0].split(".")[0].lower()
    if code not in LANGUAGES:
        # Both languages: whoever mistyped the language may read either.
        raise CatDogKitError(f"The kit speaks {' and '.join(LANGUAGES)}, not {lang!r}: "
                             f"use lang=\"es\" (or {LANG_ENV}=es) for Spanish, \"en\" for English. "
                             f"/ El kit habla {' y '.join(LANGUAGES)}, no {lang!r}: usa lang=\"es\" "
                             f"(o {LANG_ENV}=es) para español, \"en\" para inglés.")
    return code


def set_language(lang):
    """Use ``lang`` (``"en"`` or ``"es"``) for every later message; ``None`` goes back to the default.

    Returns the language now in use. The Spanish lessons choose it through
    ``cdk.lesson.setup(..., lang="es")``; the Spanish exercises call it themselves.
    """
    global _chosen
    _chosen = None if lang is None else _normalise(lang)
    return language()


def language():
    """The language the kit speaks now (see the module's docstring for the order)."""
    if _chosen:
        return _chosen
    if os.environ.get(LANG_ENV):
        return _normalise(os.environ[LANG_ENV])
    return notebook_language(os.environ.get("JPY_SESSION_NAME")) or "en"


def notebook_language(path):
    """The language in a notebook's metadata (``metadata.catdogkit.lang``), or None.

    Jupyter names the running notebook in ``JPY_SESSION_NAME``; a missing or unreadable
    file, or one without the key, gives None.
    """
    if not path or not str(path).endswith(".ipynb"):
        return None
    try:
        metadata = json.loads(Path(path).read_text(encoding="utf-8")).get("metadata", {})
        lang = metadata.get("catdogkit", {}).get("lang")
        return _normalise(lang) if lang else None
    except (OSError, ValueError, AttributeError, CatDogKitError):
        return None


@functools.lru_cache(maxsize=None)
def translations(lang):
    """The compiled catalogue of ``lang`` (English: the messages as written)."""
    if lang == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang])


def _(message):
    """``message`` in the kit's current language (the gettext convention)."""
    return translations(language()).gettext(message)


def _N_(message):
    """``message`` unchanged, marked for the catalogue (gettext's ``N_``).

    For tables built when a module is imported, before anyone chose a language: they
    keep the English, and the code that shows an entry passes it through :func:`_`.
    """
    return message


def ngettext(singular, plural, count):
    """The singular or plural form of a message for ``count``, in the current language."""
    return translations(language()).ngettext(singular, plural, count)


def format_number(value, decimals=None):
    """A number as readers of the current language write it.

    ``decimals=None`` keeps an integer whole and gives a float two decimals.
    English: ``12,345.67``; Spanish: ``12.345,67`` (and ``1234``, not ``1.234``).
    """
    if decimals is None:
        decimals = 0 if isinstance(value, int) else 2
    text = f"{value:,.{decimals}f}"
    if language() != "es":
        return text
    whole, _dot, fraction = text.partition(".")
    digits = whole.lstrip("-").replace(",", "")
    if len(digits) < 5:  # CLDR es: minimumGroupingDigits = 2
        whole = whole.replace(",", "")
    whole = whole.replace(",", ".")
    return f"{whole},{fraction}" if fraction else whole


def format_percent(fraction, decimals=1):
    """A fraction 0..1 as a percentage: ``85.3%`` in English, ``85,3 %`` in Spanish."""
    number = format_number(fraction * 100, decimals)
    return f"{number}{_NO_BREAK_SPACE}%" if language() == "es" else f"{number}%"


def _filled(template, values, write_number):
    """``template`` filled with ``values``, whole numbers written by ``write_number``."""
    return template.format(**{name: write_number(value) if type(value) is int else value
                              for name, value in values.items()})


class StoredMessage(str):
    """Words kept before they are shown (the data check's cache): English, with template and values.

    The string itself is the English text, filled in, so code that searches or prints it
    keeps working; :meth:`shown` gives it in the language in use when it is shown, which a
    text cached already filled in could not be (the catalogue has the template, not the
    filled-in text). Several parts are shown joined by ``"; "``; :attr:`parts`
    (``[[template, values], …]``) is what a cache keeps, :meth:`from_parts` reads it back.
    """

    def __new__(cls, template, **values):
        return cls.from_parts([[template, values]])

    @classmethod
    def from_parts(cls, parts):
        parts = [[template, dict(values)] for template, values in parts]
        english = "; ".join(_filled(template, values, "{:,}".format) for template, values in parts)
        message = str.__new__(cls, english)
        message.parts = parts
        return message

    def shown(self):
        """The message in the current language, numbers in its style."""
        return "; ".join(_filled(_(template), values, format_number) for template, values in self.parts)
