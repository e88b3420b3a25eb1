"""Telling crawlers from visitors with crawlerdetect (a port of the widely used
PHP CrawlerDetect, whose pattern list is kept up to date by its community).

ua-parser was the alternative; it names browsers well but its "Spider" family
misses many headless and scripted clients that CrawlerDetect lists.
"""

from __future__ import annotations

from crawlerdetect import CrawlerDetect

_CACHE_LIMIT = 4096


class BotFilter:
    def __init__(self) -> None:
        self._detector = CrawlerDetect()
        # A real browser's user agent costs ~30 µs to clear against the whole
        # pattern list; visitors repeat a few hundred distinct ones, so cache.
        self._cache: dict[str, bool] = {}

    def is_bot(self, user_agent: str | None) -> bool:
        if not user_agent:
            return False
        hit = self._cache.get(user_agent)
        if hit is None:
            hit = bool(self._detector.isCrawler(user_agent[:1024]))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[user_agent] = hit
        return hit

    def event_is_bot(self, event: dict, header_user_agent: str | None) -> bool:
        """Judge the visitor's browser: the event's context.userAgent when given.

        Events from server-side Segment libraries (context.library, no
        userAgent) carry the library's own user agent in the header, which
        says nothing about a visitor, so they are never judged by it.
        """
        context = event.get("context")
        context = context if isinstance(context, dict) else {}
        user_agent = context.get("userAgent")
        if isinstance(user_agent, str):
            return self.is_bot(user_agent)
        if "library" in context:
            return False
        return self.is_bot(header_user_agent)
