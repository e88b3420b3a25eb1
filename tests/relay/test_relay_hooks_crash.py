"""A 2xx to a webhook means durable: SIGKILL the relay process while vendors are posting, and every
delivery it answered 2xx is pulled after a restart (on both buffers)."""

from __future__ import annotations

import threading
import time

import httpx

from tests.hook_senders import StripeSender, stripe_event
from tests.pg import both_buffers  # noqa: F401  (every test on SQLite and PostgreSQL)

SECRET = "whsec_crash_test"


def test_sigkill_after_a_webhook_2xx_loses_nothing(relay_data, spawn_relay, database_url):
    data, keys = relay_data
    env = {"SEGDESK_RELAY_HOOK_STRIPE": f"stripe:{SECRET}"}
    if database_url:
        env["SEGDESK_RELAY_DATABASE_URL"] = database_url
    relay = spawn_relay(data, env)
    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def vendor(worker: int) -> None:
        sender = StripeSender(relay.url, "stripe", SECRET)
        for i in range(100_000):
            if stop.is_set():
                return
            event_id = f"evt_{worker}_{i}"
            try:
                response = sender.send(stripe_event(event_id, "charge.succeeded", {"id": f"ch_{worker}_{i}"}))
            except httpx.HTTPError:
                return  # the relay is gone
            if response.status_code == 200:
                with lock:
                    answered.append(f"stripe:id:{event_id}")

    threads = [threading.Thread(target=vendor, args=(w,)) for w in range(3)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 15
    while len(answered) < 60 and time.monotonic() < deadline:
        time.sleep(0.01)
    relay.kill()  # SIGKILL while deliveries are mid-request
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(answered) >= 60

    restarted = spawn_relay(data, env)
    stored, after = set(), 0
    with httpx.Client(base_url=restarted.url, timeout=30,
                      headers={"Authorization": f"Bearer {keys['pull_token']}"}) as pull:
        while True:
            page = pull.get("/v1/webhooks", params={"after": after, "limit": 1000}).json()
            stored.update(h["key"] for h in page["webhooks"])
            after = page["next"]
            if not page["more"]:
                break
    missing = set(answered) - stored
    assert not missing, f"{len(missing)} answered deliveries lost, e.g. {sorted(missing)[:3]}"
