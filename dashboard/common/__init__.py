"""Pieces every page uses: the request's database and settings, the access panels, formatting,
the page chrome of desk and drill-down pages, the cached GeoJSON route."""
