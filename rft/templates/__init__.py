"""The files `rft new-task` writes, as templates with `{{placeholders}}`.

Templates are plain text, not `str.format` strings, so the Python and JSON they contain keep their
own braces; `render` replaces only `{{name}}`-style placeholders and refuses to leave one unfilled
(a typo in a template fails loudly instead of writing `{{nmae}}` into a user's repository).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """`template` with every `{{key}}` replaced by `values[key]`; KeyError names a missing one."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return values[key]

    return _PLACEHOLDER.sub(fill, template)


def render_file(relative: str, values: Mapping[str, str]) -> str:
    """Render `rft/templates/<relative>` with `values`."""
    return render((TEMPLATES_DIR / relative).read_text(encoding="utf-8"), values)
