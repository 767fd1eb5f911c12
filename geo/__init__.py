"""Shapes and coordinates: conversions, grid assignment, display geometry, demo tiling, file readers.

Pure functions on numpy arrays and shapely geometries.  Nothing here knows about tickets,
databases or screens (arrows point dashboard -> data -> geo).
"""
