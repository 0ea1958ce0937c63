"""wcofeed: feeds and deadline reminders for the news and calls of international organisations."""

__version__ = "0.1.0"
