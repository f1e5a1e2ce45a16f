"""The storage -> HTML preview: Confluence storage XHTML shown as readable HTML.

A dry run writes one preview per page (``publish.write_dry_run``), and the sandbox's Confluence
serves its pages through the same code. Lozenges, expand sections, panels and code are shown as
Confluence shows them, charts as inline SVG with their data table, and the Jira macro as a table
from a ``JiraSource`` or, offline, as the query it would run. Pure: no I/O. Everything from
storage or from Jira is escaped; active content never reaches the HTML.

- ``_render``: storage to an HTML fragment, element by element and macro by macro;
- ``_jira``: the Jira macro and the ``JiraSource`` it reads;
- ``_charts``: the chart macro's table and its SVG;
- ``_page``: a whole page as a document (breadcrumbs, table of contents, labels);
- ``_markup``: escaping, safe URLs, lozenges, error boxes, the document and its CSS.
"""

from __future__ import annotations

from restrat_sync.pages.preview._charts import ChartData, render_chart, table_rows
from restrat_sync.pages.preview._jira import IssueRow, IssueSearch, JiraSource
from restrat_sync.pages.preview._markup import MacroError, document, error_box, esc, lozenge
from restrat_sync.pages.preview._page import Link, PageDoc, link_list, render_page
from restrat_sync.pages.preview._render import ViewContext, render_fragment

__all__ = [
    "ChartData",
    "IssueRow",
    "IssueSearch",
    "JiraSource",
    "Link",
    "MacroError",
    "PageDoc",
    "ViewContext",
    "document",
    "error_box",
    "esc",
    "link_list",
    "lozenge",
    "render_chart",
    "render_fragment",
    "render_page",
    "table_rows",
]
