"""The weekly report's web side and generator (issue #10): capture (Playwright screenshots),
render (HTML, PDF), run (generate one week), server (the capture's own app server), routes
(downloads and "generate now" for /reports), cli (`python app.py report`)."""
