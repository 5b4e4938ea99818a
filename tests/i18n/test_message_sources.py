"""Every message a reader is shown goes through gettext.

The walk reads the source of ``cases/`` and ``tracker/`` and finds every place that hands a
reader a message: an exception of Django or REST framework raised with a message
(``ValidationError``, ``PermissionDenied``, ``ParseError``, ``NotFound`` ...), the values of a
``ValidationError``'s dict, a form's ``add_error``, the ``default_detail`` of an API
exception, and the admin's ``messages.*`` / ``message_user``. A plain string literal, an
f-string, a ``.format()`` or a ``%`` on a literal there is English for every reader; a
``gettext`` call (or a name, whose value is checked where it is built) passes. A new message
written without gettext fails here until it is wrapped, or allowed below with its reason.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

BASE_DIR = Path(settings.BASE_DIR)
ROOTS = ["cases", "tracker"]

#: The exceptions whose first argument (or ``message=`` / ``detail=``) a reader sees.
MESSAGE_EXCEPTIONS = {
    "ValidationError",
    "PermissionDenied",
    "ParseError",
    "NotFound",
    "AuthenticationFailed",
    "NotAuthenticated",
    "MethodNotAllowed",
    "NotAcceptable",
    "UnsupportedMediaType",
    "Throttled",
    "APIException",
    "MergeConflict",
    "MergeConflictError",
    "MergedAway",
    "PreconditionFailed",
    "PreconditionRequired",
    "Gone",
    "Http404",
    "FileRefused",
    "PurgeRefused",
}
#: Exceptions whose message is not their first argument: the keyword it goes under.
MESSAGE_KEYWORD_ONLY = {
    "MethodNotAllowed": "detail",
    "Throttled": "detail",
    "problem_response": "detail",
    "problem_body": "detail",
}
#: The bases of an exception class whose ``super().__init__(message)`` a reader may see.
EXCEPTION_BASES = MESSAGE_EXCEPTIONS | {"Exception", "ValueError", "PermissionError"}
#: Names of the dicts of errors a ``ValidationError`` is later raised with.
ERROR_DICTS = {"errors"}
#: ``messages.<level>(request, message)`` of django.contrib.messages.
MESSAGE_LEVELS = {"error", "warning", "success", "info", "debug", "add_message"}
#: The translation functions: their result is translated; their argument must be a literal.
GETTEXT = {
    "_",
    "gettext",
    "gettext_lazy",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
}

#: (file, line text fragment) -> why the message is not shown to a reader.
ALLOWED: dict[tuple[str, str], str] = {
    ("cases/api/idempotency.py", 'super().__init__("replay")'): (
        "Replay carries a kept answer from the idempotency check to the view; its text is "
        "never shown (the kept response is sent instead)"
    ),
}


@dataclass(frozen=True)
class Finding:
    """A message handed to a reader without gettext."""

    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def called_name(node: ast.Call) -> str:
    """Return the last name of what ``node`` calls (``forms.ValidationError`` -> its tail)."""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def untranslated(node: ast.AST | None) -> str | None:
    """Return why the message expression ``node`` is English for every reader, else None."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return f"a plain string {node.value[:50]!r}"
    if isinstance(node, ast.JoinedStr):
        return "an f-string"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if node.func.attr == "format" and isinstance(node.func.value, ast.Constant):
            return "a str.format() of a literal"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return untranslated(node.left)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return untranslated(node.left) or untranslated(node.right)
    if isinstance(node, ast.Call) and called_name(node) in GETTEXT:
        literal = node.args[-1] if node.args else None
        if called_name(node) in {"ngettext", "ngettext_lazy"} and len(node.args) >= 2:
            literal = node.args[0]
        if not (isinstance(literal, ast.Constant) and isinstance(literal.value, str)):
            return "gettext of something other than a literal (makemessages cannot see it)"
        return None
    if isinstance(node, ast.Dict):
        for value in node.values:
            if why := untranslated(value):
                return f"a dict value: {why}"
        return None
    if isinstance(node, ast.List | ast.Tuple):
        for element in node.elts:
            if why := untranslated(element):
                return f"a list element: {why}"
        return None
    if isinstance(node, ast.DictComp):
        return untranslated(node.value)
    if isinstance(node, ast.ListComp):
        return untranslated(node.elt)
    if isinstance(node, ast.Call) and called_name(node) == "fromkeys" and len(node.args) > 1:
        return untranslated(node.args[1])
    if isinstance(node, ast.IfExp):
        return untranslated(node.body) or untranslated(node.orelse)
    return None


def message_argument(node: ast.Call, position: int, keywords: tuple[str, ...]) -> ast.AST | None:
    """Return the argument at ``position`` or under one of ``keywords`` of the call."""
    if len(node.args) > position:
        argument = node.args[position]
        return None if isinstance(argument, ast.Starred) else argument
    for keyword in node.keywords:
        if keyword.arg in keywords:
            return keyword.value
    return None


def findings_in(path: Path) -> list[Finding]:
    """Return every untranslated message handed to a reader in the module at ``path``."""
    relative = str(path.relative_to(BASE_DIR))
    tree = ast.parse(path.read_text(), filename=relative)
    found: list[Finding] = []

    def note(node: ast.AST, why: str | None, where: str) -> None:
        if why:
            found.append(Finding(relative, node.lineno, f"{where}: {why}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = called_name(node)
            if name in MESSAGE_KEYWORD_ONLY:
                argument = message_argument(node, 99, (MESSAGE_KEYWORD_ONLY[name],))
                note(node, untranslated(argument), name)
            elif name in MESSAGE_EXCEPTIONS:
                argument = message_argument(node, 0, ("message", "detail"))
                note(node, untranslated(argument), name)
            elif name in MESSAGE_LEVELS and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                if isinstance(owner, ast.Name) and owner.id == "messages":
                    position = 2 if name == "add_message" else 1
                    note(node, untranslated(message_argument(node, position, ("message",))), name)
            elif name == "message_user":
                note(node, untranslated(message_argument(node, 1, ("message",))), name)
            elif name == "add_error":
                note(node, untranslated(message_argument(node, 1, ("error",))), name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in ERROR_DICTS
                ):
                    note(node, untranslated(node.value), "an error dict's value")
        elif isinstance(node, ast.ClassDef):
            bases = {
                base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
                for base in node.bases
            }
            if bases & EXCEPTION_BASES:
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.Call)
                        and isinstance(inner.func, ast.Attribute)
                        and inner.func.attr == "__init__"
                        and isinstance(inner.func.value, ast.Call)
                        and called_name(inner.func.value) == "super"
                    ):
                        argument = message_argument(inner, 0, ("message", "detail"))
                        note(inner, untranslated(argument), f"{node.name}'s message")
            for statement in node.body:
                if isinstance(statement, ast.Assign) and any(
                    isinstance(target, ast.Name) and target.id == "default_detail"
                    for target in statement.targets
                ):
                    note(statement, untranslated(statement.value), "default_detail")
    return sorted(found, key=lambda finding: finding.line)


def sources() -> list[Path]:
    """Return the project's Python modules under the walked roots, migrations aside."""
    return sorted(
        path
        for root in ROOTS
        for path in (BASE_DIR / root).rglob("*.py")
        if "migrations" not in path.parts
    )


def allowed(finding: Finding) -> bool:
    """Return whether ``finding`` is on the allow-list (a message no reader is shown)."""
    line = (BASE_DIR / finding.path).read_text().splitlines()[finding.line - 1]
    return any(path == finding.path and fragment in line for path, fragment in ALLOWED)


def test_every_message_to_a_reader_goes_through_gettext():
    """No exception, error dict, form error or admin message carries untranslated text."""
    findings = [finding for path in sources() for finding in findings_in(path)]
    assert [str(finding) for finding in findings if not allowed(finding)] == []


def test_the_walk_sees_every_kind_of_untranslated_message(tmp_path, settings):
    """The walk finds a literal, an f-string, a .format() and a dict value; gettext passes."""
    module = BASE_DIR / "cases" / "_message_walk_probe.py"
    module.write_text(
        "from django.contrib import messages\n"
        "from django.core.exceptions import ValidationError\n"
        "from django.utils.translation import gettext as _\n"
        "from rest_framework import exceptions\n"
        "raise ValidationError('plain')\n"
        "raise ValidationError(f'made {x}')\n"
        "raise exceptions.ParseError('{}'.format(x))\n"
        "raise ValidationError({'field': 'plain'})\n"
        "raise ValidationError({'field': ['plain']})\n"
        "raise exceptions.PermissionDenied(detail='plain' % x)\n"
        "messages.error(request, 'plain')\n"
        "self.message_user(request, f'{n} done')\n"
        "form.add_error('field', 'plain')\n"
        "class Refused(exceptions.APIException):\n"
        "    default_detail = 'plain'\n"
        "raise ValidationError(_('fine %(x)s') % {'x': x}, code='fine')\n"
        "raise ValidationError({'field': _('fine')})\n"
        "messages.success(request, _('fine'))\n"
        "raise ValidationError(message)\n"
        "raise exceptions.MethodNotAllowed('DELETE', detail=_('fine'))\n"
        "raise exceptions.MethodNotAllowed('DELETE', detail='plain')\n"
        "problem_response(503, detail='plain')\n"
        "errors['field'] = f'{x} plain'\n"
        "errors['field'] = _('fine')\n"
        "raise ValidationError(dict.fromkeys(names, 'plain'))\n"
        "raise ValidationError({name: ['plain'] for name in names})\n"
        "class Stale(Exception):\n"
        "    def __init__(self):\n"
        "        super().__init__(f'{x} plain')\n"
    )
    try:
        lines = [finding.line for finding in findings_in(module)]
    finally:
        module.unlink()
    assert lines == [5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 21, 22, 23, 25, 26, 29]
