"""What every report must be: well-formed HTML5, the named sections, nothing from the network."""

from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
FORECAST_SECTIONS = {"data", "featurization", "settings", "leaderboard", "backtest",
                     "explanation"}
BACKTEST_SECTIONS = FORECAST_SECTIONS - {"leaderboard"}
TABULAR_SECTIONS = {"data", "featurization", "settings", "leaderboard", "validation",
                    "explanation"}


class _Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.sections, self.images = [], [], [], []
        self.external, self.scripts, self.doctype = [], 0, False

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href", "data", "action"):
            value = (attrs.get(name) or "").strip().lower()
            if value.startswith(("http://", "https://", "//")):
                self.external.append(f"<{tag} {name}={value[:60]}>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def check_report(path, sections) -> _Checker:
    """Parse the file and assert it is a well-formed, offline report with ``sections``."""
    text = path.read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    assert checker.doctype, "no <!DOCTYPE html>"
    assert not checker.errors, checker.errors[:5]
    assert not checker.stack, f"unclosed tags: {checker.stack}"
    assert set(sections) <= set(checker.sections), set(sections) - set(checker.sections)
    assert not checker.external, checker.external
    assert checker.scripts == 0
    assert checker.images and all(src.startswith("data:image/png;base64,")
                                  for src in checker.images)
    assert "http://" not in text and "https://" not in text
    return checker
