"""Reading preview HTML as a browser would, and writing the storage macros it is fed.

Shared by the preview's tests (tests/pages/test_preview.py) and the sandbox's page view tests,
which serve the same HTML over HTTP.
"""

from __future__ import annotations

from html.parser import HTMLParser


class Dom(HTMLParser):
    """What a browser would see: the elements opened and the text shown."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def classes(self) -> list[str]:
        return [str(attrs.get("class")) for _, attrs in self.tags if attrs.get("class")]


def parse(html: str) -> Dom:
    dom = Dom()
    dom.feed(html)
    dom.close()
    return dom


def macro(name: str, params: dict[str, str], body: str = "") -> str:
    """A structured macro in storage markup (parameter values are written as given)."""
    parts = "".join(
        f'<ac:parameter ac:name="{key}">{value}</ac:parameter>' for key, value in params.items()
    )
    return f'<ac:structured-macro ac:name="{name}">{parts}{body}</ac:structured-macro>'


def jira_macro(**params: str) -> str:
    return macro("jira", {"server": "System JIRA", **params})
