"""The site's offline search: an index of the lessons' prose, section by section, built at build time with lunr.py
and read page-side by lunr.js (the copy mkdocs ships). The index is a script (assets/search-index.js), not a
JSON file to fetch, so that search also works from file://. Figures, scripts and the contents box are left out:
a reader searches the lessons' words."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from lmreport.views.figure import script_json

SKIPPED = {"figure", "script", "style", "nav", "svg", "noscript"}


HEADINGS = {"h1", "h2", "h3"}


EXCERPT_CHARS = 160


class _Sections(HTMLParser):
    """Text of a lesson body, cut at each h1-h3 into (anchor, heading, text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[dict[str, Any]] = [{"anchor": "", "heading": "", "text": []}]
        self.skipping = 0
        self.heading: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in SKIPPED:
            self.skipping += 1
        elif tag in HEADINGS and not self.skipping:
            self.sections.append({"anchor": dict(attrs).get("id") or "", "heading": "", "text": []})
            self.heading = []

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED and self.skipping:
            self.skipping -= 1
        elif tag in HEADINGS and self.heading is not None:
            # Without the ¶ of the heading's permalink.
            self.sections[-1]["heading"] = " ".join("".join(self.heading).replace("¶", "").split())
            self.heading = None

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.heading is not None:
            self.heading.append(data)
        else:
            self.sections[-1]["text"].append(data)


def documents(pages: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """One document per section of each page: pages are (file name, lesson title, body HTML)."""
    docs = []
    for page, title, body in pages:
        parser = _Sections()
        parser.feed(body)
        parser.close()
        for section in parser.sections:
            text = " ".join("".join(section["text"]).split())
            if not text and not section["heading"]:
                continue
            anchor = section["anchor"]
            # lunr divides by the number of documents that have each field: none may be empty.
            docs.append({"id": f"{page}#{anchor}" if anchor else page, "page": page, "anchor": anchor,
                         "lesson": title or page, "title": section["heading"] or title or page,
                         "text": text or section["heading"] or title or page})
    return docs


def index_script(pages: list[tuple[str, str, str]]) -> str:
    """assets/search-index.js: `window.lmreportSearch = {index, docs}` (lunr's serialised index, and for each
    document what a result shows)."""
    from lunr import lunr

    docs = documents(pages)
    if not docs:
        return "window.lmreportSearch = {\"index\": null, \"docs\": {}};\n"
    index = lunr(ref="id", fields=[{"field_name": "title", "boost": 5}, {"field_name": "lesson", "boost": 2},
                                   "text"], documents=docs)
    shown = {d["id"]: {"page": d["page"], "anchor": d["anchor"], "title": d["title"], "lesson": d["lesson"],
                       "excerpt": d["text"][:EXCERPT_CHARS]} for d in docs}
    # As a script: the JSON that cannot end a <script> or open a comment, as the figures' data blocks are written.
    return f"window.lmreportSearch = {script_json({'index': index.serialize(), 'docs': shown})};\n"
