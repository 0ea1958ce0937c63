"""Publishing: RSS, Atom, JSON Feed and iCalendar files by language, topic and kind.

`publish_all(settings, store, touched=None, now=None)` writes the static feeds, the
feed index and the OPML list under `publish.feeds_dir`; the HTTP side
(`wcofeed.web.feeds`) renders the same documents on demand.
"""

from wcofeed.publish.run import PublishReport, publish_all

__all__ = ["PublishReport", "publish_all"]
