"""The web layer: the Dash app on its Flask server, pages, callbacks and HTTP routes."""
