"""The storage builder: every macro and table parses, and untrusted text comes out as text.

"Escaped exactly once" is checked the strict way: parsing the serialised body gives back the
original string. The one documented exception is ``clean``: characters XML 1.0 cannot carry
(C0 controls other than tab, LF and CR; U+FFFE/U+FFFF; lone surrogates) become U+FFFD.
Every body is checked by both parsers: ``check_well_formed`` (the publisher's own check) and
``storage_parser.parse_storage`` (Confluence's parse, which the preview and the sandbox use).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from restrat_sync.pages.storage import (
    Element,
    StorageError,
    chart,
    check_well_formed,
    clean,
    el,
    escape_attribute,
    escape_text,
    expand,
    fragment,
    heading,
    jira_issues,
    link,
    macro,
    paragraph,
    serialize,
    status,
    strong,
    table,
)
from restrat_sync.pages.storage_parser import AC, parse_storage

SCRIPT = "<script>alert(1)</script>"
CDATA_END = "]]>"
ESCAPED_AMP = "&amp;"
QUOTES = "\"double\" and 'single' quotes"
EMOJI = "🚀 ship it 👩🏽‍💻 🇩🇪"
RTL = "مرحبا بالعالم · שלום עולם"
CONTROL = "bell\x07 nul\x00 esc\x1b vt\x0b ff\x0c"
LONE_SURROGATE = "half \ud83d of a pair, and \udc00 the other"
LONG = "Ünïcödé " * 1250  # 10,000 characters
WHITESPACE = "tab\there\nnew line\r\nCRLF\rCR"
ADVERSARIAL = [
    SCRIPT,
    CDATA_END,
    ESCAPED_AMP,
    QUOTES,
    EMOJI,
    RTL,
    CONTROL,
    LONE_SURROGATE,
    LONG,
    WHITESPACE,
    "Tom & Jerry <b>bold</b> &lt;not a tag&gt; &#60; &nbsp;",
    "",
]
IDS = [
    "script",
    "cdata-end",
    "escaped-amp",
    "quotes",
    "emoji",
    "rtl",
    "control",
    "lone-surrogate",
    "long",
    "whitespace",
    "entities",
    "empty",
]


def parse(body: str) -> ET.Element:
    """``body`` checked by both parsers; Confluence's tree (Clark-notation tags) is returned."""
    check_well_formed(body)
    return parse_storage(body)


def text(element: ET.Element) -> str:
    return "".join(element.itertext())


def ac(name: str) -> str:
    return f"{{{AC}}}{name}"


def parameters(macro_element: ET.Element) -> dict[str, str]:
    """A parsed macro's parameters by name, values exactly as written (not stripped)."""
    return {p.get(ac("name"), ""): text(p) for p in macro_element.findall(ac("parameter"))}


def macros(root: ET.Element, name: str) -> list[ET.Element]:
    return [m for m in root.iter(ac("structured-macro")) if m.get(ac("name")) == name]


# --- text and attributes ------------------------------------------------------------------------


@pytest.mark.parametrize("value", ADVERSARIAL, ids=IDS)
def test_text_round_trips_through_both_parsers(value: str) -> None:
    """Text in an element parses back to the original, modulo the documented replacement."""
    root = parse(serialize(paragraph(value)))
    assert text(root) == clean(value)


@pytest.mark.parametrize("value", ADVERSARIAL, ids=IDS)
def test_attribute_value_round_trips(value: str) -> None:
    """An attribute value (a link's URL) parses back to the original, quotes and all."""
    root = parse(serialize(link(value, "label")))
    anchor = root.find("a")
    assert anchor is not None
    assert anchor.get("href") == clean(value)


def test_already_escaped_entity_is_escaped_exactly_once() -> None:
    """``&amp;`` in the data is written ``&amp;amp;`` and reads back as ``&amp;``."""
    body = serialize(paragraph(ESCAPED_AMP))
    assert body == "<p>&amp;amp;</p>"
    assert text(parse(body)) == "&amp;"


def test_markup_characters_are_escaped_in_text_and_attributes() -> None:
    """``< > &`` are always escaped; ``"`` is escaped in attributes, where it would end one."""
    assert escape_text('<a href="x">&') == '&lt;a href="x"&gt;&amp;'
    assert escape_attribute('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"
    assert escape_attribute("it's") == "it's"  # serialize always quotes attributes with "


def test_script_never_becomes_an_element() -> None:
    """A ``<script>`` summary is text: no script element, no raw ``<script`` in the body."""
    body = serialize(table(["Summary"], [[SCRIPT]]))
    assert "<script" not in body
    root = parse(body)
    assert list(root.iter("script")) == []
    assert [text(cell) for cell in root.iter("td")] == [SCRIPT]


def test_cdata_terminator_is_never_written_raw() -> None:
    """``]]>`` (illegal in XML text) comes out as ``]]&gt;``; no CDATA is written at all."""
    body = serialize([paragraph(CDATA_END), macro("x", {"p": CDATA_END}, [CDATA_END])])
    assert "]]>" not in body
    assert "<![CDATA[" not in body
    assert body.count("]]&gt;") == 3


@pytest.mark.parametrize(
    ("raw", "written"),
    [
        ("\x00", "\ufffd"),
        ("\x07", "\ufffd"),
        ("\x1f", "\ufffd"),
        ("\ufffe", "\ufffd"),
        ("\uffff", "\ufffd"),
        ("\ud800", "\ufffd"),
        ("low \udfff", "low \ufffd"),
        ("\t\n\r", "\t\n\r"),
        ("\x7f\x85\x9f", "\x7f\x85\x9f"),  # allowed in XML 1.0, so kept
        ("\U0001f680", "\U0001f680"),
    ],
    ids=[
        "nul",
        "bell",
        "us",
        "fffe",
        "ffff",
        "high-surrogate",
        "low-surrogate",
        "ws",
        "c1",
        "astral",
    ],
)
def test_characters_xml_cannot_carry_become_replacement_characters(raw: str, written: str) -> None:
    """The documented replacement: XML-forbidden characters become U+FFFD, others stay."""
    assert clean(raw) == written
    assert text(parse(serialize(paragraph(raw)))) == written


def test_lone_surrogates_leave_an_encodable_body() -> None:
    """A body built from text with lone surrogates encodes to UTF-8 (what goes on the wire)."""
    body = serialize(paragraph(LONE_SURROGATE))
    assert body.encode("utf-8").decode("utf-8") == body
    assert text(parse(body)) == "half \ufffd of a pair, and \ufffd the other"


def test_carriage_returns_and_attribute_whitespace_survive_parsing() -> None:
    """CR in text, tab/LF/CR in attributes are written as references, so parsers keep them."""
    body = serialize(el("p", "a\rb\r\nc", attrs={"title": "x\ty\nz\rw"}))
    assert body == '<p title="x&#9;y&#10;z&#13;w">a&#13;b&#13;\nc</p>'
    paragraph_element = parse(body).find("p")
    assert paragraph_element is not None
    assert paragraph_element.text == "a\rb\r\nc"
    assert paragraph_element.get("title") == "x\ty\nz\rw"


def test_ten_thousand_character_summary_round_trips_whole() -> None:
    """A 10,000-character summary is neither cut nor mangled."""
    long = (SCRIPT + RTL + EMOJI) * 200
    assert len(long) > 10_000
    root = parse(serialize(table(["Key", "Summary"], [["PORT-1", long]])))
    cells = [text(cell) for cell in root.iter("td")]
    assert cells == ["PORT-1", long]


# --- structure ----------------------------------------------------------------------------------


def test_void_tags_are_self_closed_and_empty_elements_are_not() -> None:
    """``<br />`` as Confluence wants it; an empty paragraph keeps its end tag."""
    assert serialize(el("br")) == "<br />"
    assert serialize(el("p")) == "<p></p>"
    assert serialize(el("td", el("br"))) == "<td><br /></td>"


def test_none_children_are_dropped_and_fragments_serialise_in_order() -> None:
    """Optional parts given as None disappear; a fragment is several top-level nodes."""
    nodes = fragment(heading(2, "Title"), None, paragraph("a", None, strong("b")), "tail")
    assert serialize(nodes) == "<h2>Title</h2><p>a<strong>b</strong></p>tail"
    assert serialize("just text & more") == "just text &amp; more"


@pytest.mark.parametrize(
    "tag", ["p onclick", "script>", "P", "1p", "p/", "ac:", "a:b:c", "", 'p"', "<p>"]
)
def test_tag_names_are_validated(tag: str) -> None:
    """A tag name that could carry markup is refused before anything is written."""
    with pytest.raises(ValueError, match="tag name"):
        el(tag)


@pytest.mark.parametrize("name", ['x"', "on click", "a=b", "x>", "", "1x", "ac:"])
def test_attribute_names_are_validated(name: str) -> None:
    """An attribute name that could carry markup is refused."""
    with pytest.raises(ValueError, match="attribute name"):
        el("p", attrs={name: "v"})


def test_table_has_one_header_row_and_cells_hold_text_or_elements() -> None:
    """Header cells are ``th``, body cells ``td``; None cells stay as empty cells."""
    root = parse(serialize(table(["Theme", "AV"], [["Growth", strong("42%")], [None, "7%"]])))
    rows = list(root.iter("tr"))
    assert [[cell.tag for cell in row] for row in rows] == [["th", "th"], ["td", "td"], ["td"] * 2]
    assert [[text(cell) for cell in row] for row in rows[1:]] == [["Growth", "42%"], ["", "7%"]]
    assert root.find("table/tbody") is not None


def test_check_well_formed_refuses_broken_bodies_and_names_the_page() -> None:
    """Unclosed tags, bare ampersands and undeclared prefixes are refused with the page named."""
    for broken in ["<p>unclosed", "a & b", "<x:y>z</x:y>", "<p>]]></p><!DOCTYPE x>"]:
        with pytest.raises(StorageError, match="Overview"):
            check_well_formed(broken, where="Overview")


def test_check_well_formed_accepts_macro_markup() -> None:
    """The ``ac:`` and ``ri:`` prefixes are declared by the wrapping root."""
    check_well_formed('<ac:link><ri:page ri:content-title="x" /></ac:link>')


# --- macros -------------------------------------------------------------------------------------


def test_jira_macro_carries_server_jql_columns_and_maximum() -> None:
    """The Jira Issues macro has the parameters Confluence reads, JQL quotes intact."""
    jql = 'project = PORT AND summary ~ "<script>" AND labels = "a&b"'
    element = jira_issues(jql, "System JIRA", "d0c-123", columns="key,summary", maximum=50)
    body = serialize(element)
    assert "&quot;" not in body  # quotes in element text need no escaping
    (found,) = macros(parse(body), "jira")
    assert found.get(ac("schema-version")) == "1"
    assert parameters(found) == {
        "server": "System JIRA",
        "serverId": "d0c-123",
        "jqlQuery": jql,
        "columns": "key,summary",
        "maximumIssues": "50",
    }


@pytest.mark.parametrize("server_id", [None, ""])
def test_jira_macro_without_server_id_omits_the_parameter(server_id: str | None) -> None:
    """No configured server id: no ``serverId`` parameter (Confluence then uses the name)."""
    (found,) = macros(parse(serialize(jira_issues("project = PORT", "Jira", server_id))), "jira")
    assert "serverId" not in parameters(found)
    assert parameters(found)["maximumIssues"] == "20"


@pytest.mark.parametrize("value", ADVERSARIAL, ids=IDS)
def test_status_lozenge_title_round_trips(value: str) -> None:
    """A lozenge titled with untrusted text keeps its colour and the text as text."""
    (found,) = macros(parse(serialize(status(value, "Red"))), "status")
    assert parameters(found) == {"colour": "Red", "title": clean(value)}


@pytest.mark.parametrize("value", ADVERSARIAL, ids=IDS)
def test_expand_title_and_body_round_trip(value: str) -> None:
    """An expand's title parameter and its rich-text body both hold the text as text."""
    element = expand(value, paragraph(value), table(["Label"], [[value]]))
    (found,) = macros(parse(serialize(element)), "expand")
    assert parameters(found) == {"title": clean(value)}
    rich = found.find(ac("rich-text-body"))
    assert rich is not None
    assert [child.tag for child in rich] == ["p", "table"]
    assert [text(cell) for cell in rich.iter() if cell.tag in {"p", "td"}] == [clean(value)] * 2


def test_chart_macro_holds_its_data_table_in_a_rich_text_body() -> None:
    """Chart parameters (type, title, options) and a data table of the series."""
    element = chart(
        "bar",
        "Allocation <planned> vs 'actual'",
        ["Theme", SCRIPT, RTL],
        [["Planned", "40", "60"], ["Actual", "35.5", "64.5"]],
        width="600",
        height="300",
        dataOrientation="vertical",
    )
    (found,) = macros(parse(serialize(element)), "chart")
    assert parameters(found) == {
        "type": "bar",
        "title": "Allocation <planned> vs 'actual'",
        "width": "600",
        "height": "300",
        "dataOrientation": "vertical",
    }
    rows = [[text(c) for c in row] for row in found.iter("tr")]
    assert rows == [["Theme", SCRIPT, RTL], ["Planned", "40", "60"], ["Actual", "35.5", "64.5"]]
    assert found.find(f"{ac('rich-text-body')}/table") is not None


def test_macro_without_body_has_no_rich_text_body_and_empty_body_has_one() -> None:
    """``body=None`` means no body element; an empty iterable writes an empty one."""
    assert "rich-text-body" not in serialize(macro("toc"))
    assert serialize(macro("x", body=[])) == (
        '<ac:structured-macro ac:name="x" ac:schema-version="1">'
        "<ac:rich-text-body></ac:rich-text-body></ac:structured-macro>"
    )


def test_a_page_of_every_builder_with_adversarial_text_parses_and_reads_back() -> None:
    """Theme names, summaries, labels, lozenges, expand, chart and JQL together, all as text."""
    rows = [[f"PORT-{i}", value, value] for i, value in enumerate(ADVERSARIAL, 1)]
    body = serialize(
        fragment(
            heading(1, "Theme: ", RTL),
            paragraph(strong(SCRIPT), " ", status(QUOTES, "Yellow")),
            table(["Key", "Summary", "Labels"], rows),
            expand(CDATA_END, paragraph(ESCAPED_AMP)),
            chart("pie", EMOJI, ["Theme", SCRIPT, CDATA_END], [["AV", "1", "2"]]),
            jira_issues(f'summary ~ "{SCRIPT}"', "System JIRA", "id"),
        )
    )
    root = parse(body)
    assert list(root.iter("script")) == []
    cells = [[text(c) for c in row] for row in root.iter("tr")]
    assert cells[1 : len(rows) + 1] == [[key, clean(v), clean(v)] for key, v, _ in rows]
    assert parameters(macros(root, "jira")[0])["jqlQuery"] == f'summary ~ "{SCRIPT}"'
    assert parameters(macros(root, "expand")[0])["title"] == CDATA_END
    assert parameters(macros(root, "status")[0])["title"] == QUOTES


# --- properties ---------------------------------------------------------------------------------

# Every code point, surrogates and controls included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)


@given(ANY_TEXT)
def test_any_text_round_trips_modulo_the_documented_replacement(value: str) -> None:
    """Property: text -> serialize -> parse (both parsers) -> the same text, cleaned."""
    body = serialize(paragraph(value))
    body.encode("utf-8")  # what goes on the wire: never a lone surrogate
    assert text(parse(body)) == clean(value)


@given(ANY_TEXT, ANY_TEXT)
def test_any_attribute_and_parameter_round_trips(value: str, other: str) -> None:
    """Property: attribute values and macro parameter values come back as written, cleaned."""
    body = serialize(
        fragment(link(value, other), macro("x", {"a": value, "b": other}, [paragraph(other)]))
    )
    root = parse(body)
    anchor = root.find("a")
    assert anchor is not None
    assert anchor.get("href") == clean(value)
    (found,) = macros(root, "x")
    assert parameters(found) == {"a": clean(value), "b": clean(other)}


@given(ANY_TEXT)
def test_clean_leaves_only_xml_characters_and_is_idempotent(value: str) -> None:
    """Property: the replacement touches only forbidden characters and keeps the length."""
    cleaned = clean(value)
    assert len(cleaned) == len(value)
    assert clean(cleaned) == cleaned
    for before, after in zip(value, cleaned, strict=True):
        assert after == before or after == "\ufffd"


def _tree_text(node: Element | str) -> str:
    return node if isinstance(node, str) else "".join(_tree_text(c) for c in node.children)


@given(st.lists(st.lists(ANY_TEXT, min_size=1, max_size=4), max_size=5))
def test_any_table_parses_with_its_cells_in_place(cells: list[list[str]]) -> None:
    """Property: a table of arbitrary cell texts keeps every cell, in order, as text."""
    built = table(["h"], cells)
    root = parse(serialize(built))
    parsed = [[text(cell) for cell in row] for row in root.iter("tr")]
    assert parsed == [["h"], *[[clean(c) for c in row] for row in cells]]
    assert text(root) == clean(_tree_text(built))
