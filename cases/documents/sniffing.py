"""What a document is, told from its bytes (never its name), and the types accepted.

The binary types are recognised by their magic bytes with the ``filetype`` library (pure
Python, no libmagic); plain text is what is left when the bytes decode as UTF-8 and hold no
control characters. HTML, scripts and executables are never accepted, whatever they are
called: a file named ``letter.pdf`` that holds HTML is refused, not renamed.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass

import filetype
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

#: How many bytes of the start of a file the sniffing reads.
HEAD_BYTES = 8192


@dataclass(frozen=True)
class Accepted:
    """One accepted type: its media type, its usual extension and the others it goes by."""

    content_type: str
    extension: str
    aliases: tuple[str, ...] = ()

    @property
    def extensions(self) -> tuple[str, ...]:
        """Return every extension a file of this type may be called by."""
        return (self.extension, *self.aliases)


PDF = Accepted("application/pdf", "pdf")
JPEG = Accepted("image/jpeg", "jpg", ("jpeg", "jpe"))
PNG = Accepted("image/png", "png")
TIFF = Accepted("image/tiff", "tif", ("tiff",))
WEBP = Accepted("image/webp", "webp")
MP3 = Accepted("audio/mpeg", "mp3")
OGG = Accepted("audio/ogg", "ogg", ("oga", "opus"))
WAV = Accepted("audio/wav", "wav")
M4A = Accepted("audio/mp4", "m4a")
MP4 = Accepted("video/mp4", "mp4", ("m4v",))
TEXT = Accepted("text/plain", "txt", ("text",))

#: ``filetype``'s media type -> the accepted type it is.
_BY_SNIFFED = {
    "application/pdf": PDF,
    "image/jpeg": JPEG,
    "image/png": PNG,
    "image/apng": PNG,
    "image/tiff": TIFF,
    "image/webp": WEBP,
    "audio/mpeg": MP3,
    "audio/ogg": OGG,
    "audio/opus": OGG,
    "audio/x-wav": WAV,
    "audio/mp4": M4A,
    "video/mp4": MP4,
}
#: Every accepted type, in the order the docs list them.
ACCEPTED: tuple[Accepted, ...] = (PDF, JPEG, PNG, TIFF, WEBP, MP3, OGG, WAV, M4A, MP4, TEXT)
#: Every extension some accepted type goes by.
_KNOWN_EXTENSIONS = {ext for accepted in ACCEPTED for ext in accepted.extensions}

#: Starts of text that a browser would run or render: refused even as plain text.
_MARKUP = (b"<!doctype", b"<html", b"<script", b"<svg", b"<?xml", b"<head", b"<body", b"<iframe")
#: Control characters that plain text does not hold (tab, newlines and form feed do).
_CONTROL = bytes(c for c in range(32) if c not in (9, 10, 12, 13)) + b"\x7f"


def _refuse(message: str, code: str) -> ValidationError:
    return ValidationError({"file": [ValidationError(message, code=code)]})


def sniff(head: bytes) -> Accepted:
    """Return the accepted type the start of a file (``head``) is, or raise ``ValidationError``.

    A file that is neither a known binary type nor plain UTF-8 text is refused with what it
    seems to be, when that is known.
    """
    if not head:
        raise _refuse(_("The file is empty."), "empty")
    kind = filetype.guess(head[:HEAD_BYTES])
    if kind is not None:
        accepted = _BY_SNIFFED.get(kind.mime)
        if accepted is None:
            raise _refuse(
                _(
                    "Files of type %(type)s are not accepted. Attach a PDF, an image (JPEG, "
                    "PNG, TIFF, WebP), a recording (MP3, Ogg, WAV, M4A, MP4) or plain text."
                )
                % {"type": kind.mime},
                "type_refused",
            )
        return accepted
    if _looks_like_text(head):
        return TEXT
    raise _refuse(
        _(
            "The file's contents are not of an accepted type. Attach a PDF, an image (JPEG, "
            "PNG, TIFF, WebP), a recording (MP3, Ogg, WAV, M4A, MP4) or plain UTF-8 text."
        ),
        "type_refused",
    )


def _looks_like_text(head: bytes) -> bool:
    """Return whether ``head`` is plain UTF-8 text that no browser would render as markup."""
    body = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    if any(byte in _CONTROL for byte in body):
        return False
    try:
        # The head may cut a character in two: decode all but an unfinished last one.
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return False
    start = body.lstrip().lower()
    if start.startswith(_MARKUP) or b"<script" in body.lower():
        raise _refuse(
            _("HTML, SVG and XML files are not accepted: save the page as PDF or as plain text."),
            "type_refused",
        )
    return True


class TextChecker:
    """Check, chunk by chunk, that a whole file said to be text is UTF-8 without control bytes."""

    def __init__(self):
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._first = True

    def feed(self, chunk: bytes, *, final: bool = False) -> None:
        """Check the next ``chunk``; raise ``ValidationError`` when it is not plain text."""
        body = chunk
        if self._first and body.startswith(codecs.BOM_UTF8):
            body = body[3:]
        self._first = False
        try:
            self._decoder.decode(body, final=final)
        except UnicodeDecodeError:
            raise _refuse(_("The file is not plain UTF-8 text."), "type_refused") from None
        if any(byte in _CONTROL for byte in body):
            raise _refuse(_("The file is not plain UTF-8 text."), "type_refused")


def checked_name(declared: str, accepted: Accepted) -> str:
    """Return the name to keep for an upload called ``declared`` that is ``accepted``.

    A name whose extension is another accepted or well-known type's (``.pdf`` on a PNG,
    ``.pdf`` on an HTML page) is a forgery, refused; a name with no or an unknown extension
    gets the type's own. Only the last part of a path is kept.
    """
    base = os.path.basename((declared or "").replace("\\", "/")).strip() or "document"
    stem, dot, extension = base.rpartition(".")
    extension = extension.lower() if dot else ""
    if dot and stem and extension in accepted.extensions:
        return base
    if dot and stem and (extension in _KNOWN_EXTENSIONS or extension in _DANGEROUS):
        raise _refuse(
            _(
                "The file is called %(name)s but its contents are %(type)s: its extension "
                "does not match what it is. Attach the file it claims to be, or rename it."
            )
            % {"name": base, "type": accepted.content_type},
            "extension_mismatch",
        )
    return f"{base[:240]}.{accepted.extension}"


#: Extensions of files that run or render: never a name to keep on another type.
_DANGEROUS = {
    "exe", "dll", "com", "bat", "cmd", "msi", "scr", "ps1", "sh", "js", "mjs", "vbs", "jar",
    "html", "htm", "xhtml", "svg", "xml", "php", "doc", "docx", "xls", "xlsx", "zip", "rar",
    "7z", "gz", "apk", "dmg", "iso", "lnk", "hta", "swf",
}  # fmt: skip
