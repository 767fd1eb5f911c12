"""Taking in what districts already have, and giving it back (issue #3).

- `grids`: grid (or community / street) polygons from GeoJSON, Shapefile, zipped Shapefile or
  GeoPackage (read by geo.readers) into regions and boundary versions; derived parents; open
  tickets re-routed when a grid is redrawn.
- `csvparse`: pure parsing of real-world CSV exports (BOM, CRLF, multi-line fields, dates in
  several formats, thousands separators, NA).
- `tickets`: a CSV export of another system (311 / 12345) into tickets with their history.
- `export`: tickets out as CSV through a Viewer's scope.
- `cli`: the `import-grids`, `import-tickets` and `export-tickets` commands.
"""
