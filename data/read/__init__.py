"""Read functions the screens use. Each takes a session and a `data.access.Viewer` and scopes its
query with the data.access clauses, so what a page shows is decided inside the database query.

    scope       which grids' aggregates a viewer may read
    directory   the region tree (codes, names, parents, population), cached per region version
    geometry    display GeoJSON of the grids and community/street outlines, cached per boundary version
    screen      the big screen's snapshot: aggregates (grid_stats, daily_stats) and recent tickets only
    regions     a drill-down page's region: breadcrumb, team, profile, weekly indicators
    tickets     ticket lists with filters, and one ticket's detail with its history
    desk        the dispatcher's queues and assignee choices

The live screen reads only pre-computed aggregates and bounded recent ranges (indexed by time):
never a scan over all tickets on a refresh.
"""
