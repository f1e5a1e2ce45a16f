"""Pages: page models per cadence built from metric snapshots, rendered to Confluence storage
XHTML. Pure code, no I/O: the publisher sends what this package renders."""
