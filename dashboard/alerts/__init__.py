"""Early warning on the web (issue #11): the API's models (schemas), the wall's 预警 panel and
pulsing markers (wall), the desk's alerts queue (queue). Data come from data.alerts."""


def register_callbacks(app) -> None:
    from dashboard.alerts import queue, wall

    wall.register_callbacks(app)
    queue.register_callbacks(app)
