"""Reports: table builders and renderers. Numbers arrive raw and are formatted here."""
