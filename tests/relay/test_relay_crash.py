"""A 2xx means durable: SIGKILL the relay mid-stream, and every event it
acknowledged is in the buffer after a restart."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
def test_sigkill_after_2xx_loses_nothing(relay_data, spawn_relay, synchronous):
    data, keys = relay_data
    env = {"SEGDESK_RELAY_RATE": "0", "SEGDESK_RELAY_SYNCHRONOUS": synchronous}
    relay = spawn_relay(data, env)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender(worker: int) -> None:
        with httpx.Client(base_url=relay.url, auth=(keys["write_key"], ""),
                          headers={"User-Agent": UA}, timeout=5) as client:
            for i in range(100_000):
                if stop.is_set():
                    return
                message_id = f"w{worker}-{i}"
                event = {"type": "track", "event": "Tick", "anonymousId": f"a{worker}",
                         "messageId": message_id, "properties": {"i": i}}
                try:
                    response = client.post("/v1/track", json=event)
                except httpx.HTTPError:
                    return  # the relay is gone
                if response.status_code == 200:
                    with lock:
                        acknowledged.append(message_id)

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 10
    while len(acknowledged) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    relay.kill()  # SIGKILL while the senders are mid-request
    stop.set()
    for thread in threads:
        thread.join(10)
    assert len(acknowledged) >= 300

    restarted = spawn_relay(data, env)
    stored = set()
    with httpx.Client(base_url=restarted.url, timeout=30,
                      headers={"Authorization": f"Bearer {keys['pull_token']}"}) as pull:
        after = 0
        while True:
            page = pull.get("/v1/events", params={"after": after, "limit": 5000}).json()
            stored.update(e["event"]["messageId"] for e in page["events"])
            after = page["next"]
            if not page["more"]:
                break
    missing = set(acknowledged) - stored
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
