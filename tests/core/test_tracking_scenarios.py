"""The stories of the tracking documentation, end to end through the command line."""

from __future__ import annotations

import json

import orjson

from segdesk.cli import main

from .wire import at, identify, page

FB = {"source": "facebook", "medium": "cpc", "name": "spring"}


def _write(path, events):
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return str(path)


def _journey(capsys, email):
    capsys.readouterr()
    assert main(["journey", email, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _import(tmp_path, capsys, events, name="e.jsonl"):
    assert main(["import", "events", _write(tmp_path / name, events), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_john_backfill_and_email_link_on_new_device(tmp_path, capsys):
    ad_url = "https://shop.example.com/?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"
    day1 = [page("1234", at(0), ad_url, "https://facebook.com/", campaign=FB),
            page("1234", at(0, minutes=2), "https://shop.example.com/pricing")]
    day2 = [page("1234", at(1), "https://shop.example.com/"),
            page("1234", at(1, minutes=1), "https://shop.example.com/signup"),
            identify("1234", at(1, minutes=2), email="John@Example.com ", method="form")]
    summary = _import(tmp_path, capsys, day1 + day2)
    assert summary["imported"] == 5 and summary["rejected"] == 0

    j = _journey(capsys, "john@example.com")
    assert j["contact"]["email"] == "john@example.com"
    pages = [e for e in j["events"] if e["kind"] == "page"]
    assert len(pages) == 4 and {e["anonymous_id"] for e in pages} == {"1234"}
    assert pages[0]["channel"] == {"source": "facebook", "medium": "cpc", "campaign": "spring"}
    assert all(e["backfilled"] for e in pages)
    assert [d["anonymous_id"] for d in j["devices"]] == ["1234"]
    assert j["devices"][0]["linked_by"] == "form"
    assert j["contact"]["first_seen"] == at(0)

    # Device 5678 browsed anonymously the week before, then clicks an email link.
    week_before = [page("5678", at(-7), "https://shop.example.com/blog", "https://www.google.com/"),
                   page("5678", at(-6), "https://shop.example.com/blog/2")]
    click = [identify("5678", at(3), email="john@example.com", method="link"),
             page("5678", at(3, minutes=0.05), "https://shop.example.com/offer")]
    _import(tmp_path, capsys, week_before + click, "more.jsonl")
    j = _journey(capsys, "john@example.com")
    by_device = {}
    for e in j["events"]:
        if e["kind"] == "page":
            by_device.setdefault(e["anonymous_id"], []).append(e)
    assert len(by_device["5678"]) == 3
    assert by_device["5678"][0]["channel"]["source"] == "google.com"
    assert by_device["5678"][0]["channel"]["medium"] == "organic"
    assert by_device["5678"][2]["channel"]["medium"] == "email"
    assert {d["anonymous_id"]: d["linked_by"] for d in j["devices"]} == {"1234": "form", "5678": "link"}
    assert j["contact"]["first_seen"] == at(-7)
    times = [e["time"] for e in j["events"]]
    assert times == sorted(times)


def test_iphone_stays_anonymous_until_email_link(tmp_path, capsys):
    iphone = [page("iphone", at(0), "https://shop.example.com/?utm_source=instagram&utm_medium=social")]
    desktop = [page("desktop", at(1)), identify("desktop", at(1, minutes=1), email="amy@example.com")]
    _import(tmp_path, capsys, iphone + desktop)
    j = _journey(capsys, "amy@example.com")
    assert {e["anonymous_id"] for e in j["events"] if e["kind"] == "page"} == {"desktop"}

    later = [page("iphone", at(2)), identify("iphone", at(4), email="amy@example.com", method="link"),
             page("iphone", at(4, minutes=0.1))]
    _import(tmp_path, capsys, later, "later.jsonl")
    j = _journey(capsys, "amy@example.com")
    iphone_pages = [e for e in j["events"] if e["kind"] == "page" and e["anonymous_id"] == "iphone"]
    assert len(iphone_pages) == 3
    assert iphone_pages[0]["channel"]["source"] == "instagram"
    assert j["contact"]["first_seen"] == at(0)


def test_shared_computer_never_merges_people(tmp_path, capsys):
    events = [
        page("pc", at(0)), identify("pc", at(0, 1), email="ann@example.com"), page("pc", at(0, 2)),
        page("pc", at(1)), identify("pc", at(1, 1), email="bob@example.com"), page("pc", at(1, 2)),
    ]
    _import(tmp_path, capsys, events)
    ann, bob = _journey(capsys, "ann@example.com"), _journey(capsys, "bob@example.com")
    ann_pages = [e["time"] for e in ann["events"] if e["kind"] == "page"]
    bob_pages = [e["time"] for e in bob["events"] if e["kind"] == "page"]
    assert ann_pages == [at(0), at(0, 2), at(1)]
    assert bob_pages == [at(1, 2)]
    assert ann["devices"][0]["shared"] is False

    _import(tmp_path, capsys, [identify("pc", at(2), email="cat@example.com"), page("pc", at(2, 1))], "cat.jsonl")
    cat = _journey(capsys, "cat@example.com")
    assert cat["devices"][0]["shared"] is True
    assert [e["time"] for e in cat["events"] if e["kind"] == "page"] == [at(2, 1)]
    assert main(["contacts", "--json"]) == 0
    emails = sorted(c["email"] for c in json.loads(capsys.readouterr().out)["contacts"])
    assert emails == ["ann@example.com", "bob@example.com", "cat@example.com"]
