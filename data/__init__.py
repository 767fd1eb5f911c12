"""The data layer: models, sessions, workflow, deadlines, indicators, jobs and demo data.

Arrows point one way: dashboard → data → geo.
"""
