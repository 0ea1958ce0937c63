"""The HTTP side of wcofeed: an aiohttp application built by `app.create_app`."""
