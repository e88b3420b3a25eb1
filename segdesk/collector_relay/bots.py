"""Telling crawlers from visitors with crawlerdetect (a port of the widely used
PHP CrawlerDetect, whose pattern list is kept up to date by its community).

ua-parser was the alternative; it names browsers well but its "Spider" family
misses many headless and scripted clients that CrawlerDetect lists.
"""

from __future__ import annotations

from crawlerdetect import CrawlerDetect

_CACHE_LIMIT = 4096
# Why an accepted event was not kept: the counters /healthz reports.
EVENT_USER_AGENT = "bot_user_agent"  # the event's context.userAgent is a crawler's
REQUEST_USER_AGENT = "bot_request"   # the browser request itself came from a crawler
REASONS = (EVENT_USER_AGENT, REQUEST_USER_AGENT)


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

    def reason(self, event: dict, request_user_agent: str | None,
               from_browser: bool) -> str | None:
        """Why this event is a bot's (a key of REASONS), or None to keep it.

        Only a visitor's browser is judged: the event's own context.userAgent
        (the pixel and analytics.js put the browser's there), else the
        request's User-Agent when a browser made the request (the pixel's
        p.gif, or a POST carrying an Origin header). A server-side library
        (curl, requests, httpx, analytics-node, analytics-python, ...) says
        nothing about a visitor, so its own user agent is never held against
        the events it forwards.
        """
        context = event.get("context")
        user_agent = context.get("userAgent") if isinstance(context, dict) else None
        if isinstance(user_agent, str):
            return EVENT_USER_AGENT if self.is_bot(user_agent) else None
        if from_browser and self.is_bot(request_user_agent):
            return REQUEST_USER_AGENT
        return None
