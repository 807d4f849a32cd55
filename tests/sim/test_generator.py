"""The generator: determinism, output layout, fake parties, labels and the indicators they plant."""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.sim.conftest import SMALL, all_events, read_jsonl
from vigichem.chem import screen
from vigichem.errors import InvalidInput
from vigichem.ledger import extensions as ext
from vigichem.ledger.hashid import event_hash_ids
from vigichem.sim import TYPOLOGIES, SimConfig, simulate
from vigichem.sim.epcis import CONTEXT


def _by_hash(run: Path) -> dict[str, dict[str, Any]]:
    events = all_events(run)
    hashes = event_hash_ids({"@context": CONTEXT, "epcisBody": {"eventList": events}})
    return dict(zip(hashes, events, strict=True))


def test_same_seed_gives_byte_identical_output(run_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    simulate(SMALL, again)
    comparison = filecmp.dircmp(run_dir, again)
    assert not comparison.diff_files and not comparison.left_only and not comparison.right_only
    documents = sorted(p.name for p in (run_dir / "documents").iterdir())
    matched, mismatch, errors = filecmp.cmpfiles(
        run_dir / "documents", again / "documents", documents, shallow=False
    )
    assert (len(matched), mismatch, errors) == (len(documents), [], [])
    for name in ("masterdata.yaml", "parties.jsonl", "labels.jsonl", "manifest.json"):
        assert (run_dir / name).read_bytes() == (again / name).read_bytes()


def test_another_seed_gives_another_chain(run_dir: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    simulate(SimConfig(seed=12, days=SMALL.days), other)
    assert (other / "documents" / "000001.json").read_bytes() != (
        run_dir / "documents" / "000001.json"
    ).read_bytes()


def test_manifest_counts_what_was_written(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    events = all_events(run_dir)
    assert manifest["seed"] == SMALL.seed and manifest["days"] == SMALL.days
    assert manifest["counts"]["events"] == len(events)
    assert manifest["counts"]["documents"] == len(list((run_dir / "documents").iterdir()))
    assert manifest["counts"]["parties"] == len(read_jsonl(run_dir / "parties.jsonl"))
    assert sum(manifest["counts"]["event_types"].values()) == len(events)
    assert manifest["not_planted"] == {}
    assert set(manifest["counts"]["cases"]) == set(TYPOLOGIES)


def test_documents_are_in_time_order_and_cover_every_business_step(run_dir: Path) -> None:
    events = all_events(run_dir)
    times = [dt.datetime.fromisoformat(e["eventTime"]) for e in events]
    assert times == sorted(times)
    assert times[0].date() >= SMALL.start and times[-1].date() <= SMALL.end
    steps = {e.get("bizStep", e["type"]) for e in events}
    assert {
        "commissioning",
        "shipping",
        "receiving",
        "retail_selling",
        "destroying",
        "cycle_counting",
    } <= steps
    assert "TransformationEvent" in steps


def test_every_extension_field_is_well_formed(run_dir: Path) -> None:
    for index, event in enumerate(all_events(run_dir)):
        assert ext.check_extensions(event, f"/{index}") == []


def test_parties_are_fake_and_unique(run_dir: Path) -> None:
    parties = read_jsonl(run_dir / "parties.jsonl")
    assert all(p["fake"] is True for p in parties)
    refs = [p["ref"] for p in parties]
    assert len(refs) == len(set(refs))
    assert all(ext.PARTY_REF_RE.match(r) for r in refs)
    sold_to = {e.get("vc:customerRef") for e in all_events(run_dir)} - {None}
    assert sold_to <= set(refs)  # every buyer in the ledger has a (fake) party record
    # Personal data never enters an event.
    text = (run_dir / "documents" / "000001.json").read_text(encoding="utf-8")
    assert parties[0]["personal"]["full_name"] not in text


def test_masterdata_names_every_site_and_product_used(run_dir: Path) -> None:
    masterdata = yaml.safe_load((run_dir / "masterdata.yaml").read_text())
    locations = {f"https://id.gs1.org/414/{s['gln']}" for s in masterdata["sites"]}
    gtins = {p["gtin"] for p in masterdata["products"]}
    for event in all_events(run_dir):
        assert event["bizLocation"]["id"] in locations
        for element in event.get("quantityList", []) + event.get("inputQuantityList", []):
            assert element["epcClass"].split("/01/0")[1].split("/")[0] in gtins


def test_labels_follow_the_shared_contract(run_dir: Path) -> None:
    labels = read_jsonl(run_dir / "labels.jsonl")
    by_hash = _by_hash(run_dir)
    assert {label["typology"] for label in labels} == set(TYPOLOGIES)
    assert len({label["case"] for label in labels}) == len(labels)
    for label in labels:
        assert set(label) == {"case", "typology", "detail", "subject", "event_hash_ids", "first_event_time"}
        assert label["subject"]["type"] in ("party", "site", "shipment", "address")
        assert label["event_hash_ids"] and all(h in by_hash for h in label["event_hash_ids"])
        times = [by_hash[h]["eventTime"] for h in label["event_hash_ids"]]
        assert label["first_event_time"] == min(times)


def _labelled(run: Path, typology: str) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    by_hash = _by_hash(run)
    return [
        (label, [by_hash[h] for h in label["event_hash_ids"]])
        for label in read_jsonl(run / "labels.jsonl")
        if label["typology"] == typology
    ]


def test_party_cases_name_the_buyer_of_their_evidence(run_dir: Path) -> None:
    for typology in ("split_purchase", "quantity_spike", "unusual_combination", "designer_precursor"):
        for label, events in _labelled(run_dir, typology):
            assert label["subject"]["type"] == "party"
            assert {e["vc:customerRef"] for e in events} == {label["subject"]["id"]}


def test_split_purchases_repeat_at_one_seller_or_many(run_dir: Path) -> None:
    for _label, events in _labelled(run_dir, "split_purchase"):
        assert len(events) >= 4 and len({e["bizLocation"]["id"] for e in events}) == 1
    for label, events in _labelled(run_dir, "split_purchase_multi_seller"):
        assert len({e["bizLocation"]["id"] for e in events}) >= 3
        assert {e["vc:customerRef"] for e in events} == {label["subject"]["id"]}


def test_unusual_combination_buys_several_precursors(run_dir: Path) -> None:
    for _, events in _labelled(run_dir, "unusual_combination"):
        classes = {e["quantityList"][0]["epcClass"].split("/10/")[0] for e in events}
        assert len(classes) >= 3
        assert {e["vc:customerType"] for e in events} == {"private"}


def test_each_sale_indicator_is_present_in_its_evidence_and_only_there(run_dir: Path) -> None:
    cases = _labelled(run_dir, "sale_indicator")
    details = {label["detail"] for label, _ in cases}
    assert details == {
        "cash",
        "no_id",
        "no_end_use",
        "private_address_company_order",
        "many_buyers_one_address",
    }
    planted = {h for label, _ in cases for h in label["event_hash_ids"]}
    for label, events in cases:
        detail = label["detail"]
        if detail == "cash":
            assert all(e["vc:paymentMethod"] == "cash" and e["vc:customerType"] != "private" for e in events)
        elif detail == "no_id":
            assert all(e["vc:idVerified"] is False for e in events)
        elif detail == "no_end_use":
            assert all("vc:statedEndUse" not in e and e["vc:idVerified"] is True for e in events)
        elif detail == "private_address_company_order":
            assert all(e["vc:deliveryType"] in ("private_address", "po_box") for e in events)
            assert all(e["vc:customerType"] != "private" for e in events)
        else:
            assert label["subject"]["type"] == "address"
            assert {e["vc:deliveryRef"] for e in events} == {label["subject"]["id"]}
            assert len({e["vc:customerRef"] for e in events}) >= 5
    # The background never shows these indicators, so a rule firing on them is right (precision).
    for hash_id, event in _by_hash(run_dir).items():
        if hash_id in planted or event.get("bizStep") != "retail_selling":
            continue
        assert event.get("vc:idVerified") is not False
        assert not (event.get("vc:customerType") != "private" and event["vc:paymentMethod"] == "cash")
        business = event.get("vc:customerType") != "private"
        assert not (business and event["vc:deliveryType"] in ("private_address", "po_box"))
        if "vc:idVerified" in event:  # a controlled product
            assert "vc:statedEndUse" in event


def test_designer_precursor_is_sold_before_its_listing(run_dir: Path) -> None:
    masterdata = yaml.safe_load((run_dir / "masterdata.yaml").read_text())
    designer = [p for p in masterdata["products"] if p["id"].startswith("fine-")]
    assert len(designer) == 1
    cas = designer[0]["composition"][0]["substance"]
    for _, events in _labelled(run_dir, "designer_precursor"):
        for event in events:
            assert designer[0]["gtin"] in event["quantityList"][0]["epcClass"]
            sold_on = dt.datetime.fromisoformat(event["eventTime"]).date()
            then = screen(cas, jurisdiction="FR", as_of=sold_on)
            assert [f.status for f in then.findings if f.status != "watch"] == []
    now = screen(cas, jurisdiction="FR")
    assert any(f.status != "watch" for f in now.findings)  # listed later: the backtest has an answer


def test_a_directory_holding_a_run_is_refused(run_dir: Path) -> None:
    with pytest.raises(InvalidInput, match="already holds a simulation"):
        simulate(SMALL, run_dir)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"days": 0}, "days must be between"),
        ({"days": 10, "scale": 0}, "scale must be above 0"),
        ({"days": 10, "events_per_document": 0}, "events per document"),
        ({"days": 10, "seed": -1}, "seed must be zero or more"),
    ],
)
def test_bad_configuration_is_refused_precisely(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(InvalidInput, match=fragment):
        SimConfig(**{"seed": 1, **kwargs})


def test_short_runs_say_which_typologies_could_not_be_planted(tmp_path: Path) -> None:
    manifest, labels = simulate(SimConfig(seed=2, days=5), tmp_path / "short")
    assert "shipment_not_received" in manifest.not_planted
    assert all(label.typology not in manifest.not_planted for label in labels)


def test_a_start_after_every_listing_plants_no_designer_case_and_says_so(tmp_path: Path) -> None:
    manifest, labels = simulate(SimConfig(seed=2, days=20, start=dt.date(2025, 1, 6)), tmp_path / "late")
    assert "designer_precursor" in manifest.not_planted
    assert not any(label.typology == "designer_precursor" for label in labels)


def test_output_does_not_depend_on_string_hash_randomisation(tmp_path: Path) -> None:
    """Two processes with different PYTHONHASHSEED write the same bytes (no set-order dependence)."""
    outputs = []
    for hash_seed in ("1", "2"):
        out = tmp_path / f"hash{hash_seed}"
        command = [sys.executable, "-c", "from vigichem.cli import main; main()"]
        command += ["simulate", "--seed", "9", "--days", "12", "--out", str(out), "--quiet"]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run(command, check=True, env=env, capture_output=True, timeout=300)
        outputs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert outputs[0] == outputs[1]
