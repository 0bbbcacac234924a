"""Signatures as the API reference shows them, checked by the reference's own Node.js verifier,
and the address rules that keep webhooks off private networks."""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from hadar.webhooks import signing, urls
from hadar.webhooks.queue import SCHEDULE, next_wait

# Verbatim from the API reference ("Webhooks & signature verification").
REFERENCE_TS = """\
import { createHmac, timingSafeEqual } from "node:crypto"
function verify(rawBody: string, header: string, secret: string) {
const parts = Object.fromEntries(
header.split(",").map((kv) => kv.split("="))
) as { t: string; v1: string }
const signed = `${parts.t}.${rawBody}`
const expected = createHmac("sha256", secret).update(signed).digest("hex")
const a = Buffer.from(expected)
const b = Buffer.from(parts.v1)
return a.length === b.length && timingSafeEqual(a, b)
}"""

HARNESS = """
import { readFileSync } from "node:fs"
const cases = JSON.parse(readFileSync(0, "utf8"))
console.log(JSON.stringify(cases.map((c) => verify(c.body, c.header, c.secret))))
"""


def strip_typescript(source: str) -> str:
    """The reference function as plain JavaScript: parameter types and the `as` cast removed."""
    source = re.sub(r"(\w+): string", r"\1", source)
    return re.sub(r"\)\s*as \{[^}]*\}", ")", source)


def node_verify(tmp_path: Path, cases: list[tuple[str, str, str]]) -> list[bool]:
    """Run the reference's verify(rawBody, header, secret) under node for each case."""
    node = shutil.which("node")
    assert node, "node is needed to check signatures against the reference verifier"
    script = tmp_path / "verify.mjs"
    script.write_text(strip_typescript(REFERENCE_TS) + "\n" + HARNESS, encoding="utf-8")
    payload = json.dumps([{"body": b, "header": h, "secret": s} for b, h, s in cases])
    out = subprocess.run(
        [node, str(script)], input=payload, capture_output=True, text=True, check=True, timeout=30
    )
    return json.loads(out.stdout)


BODY = json.dumps(
    {"id": "evt_01", "type": "lead.created", "data": {"object": {"name": "عائشة خان"}}},
    ensure_ascii=False,
    separators=(",", ":"),
)


def test_reference_verifier_accepts_our_signatures(tmp_path: Path) -> None:
    secret = signing.new_secret()
    assert secret.startswith("whsec_")
    header = signing.sign(BODY.encode(), [secret])
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header)
    tampered = BODY.replace("خان", "Khan")
    results = node_verify(
        tmp_path,
        [
            (BODY, header, secret),
            (BODY, header, "whsec_wrong"),
            (tampered, header, secret),
        ],
    )
    assert results == [True, False, False]
    assert signing.verify(BODY.encode(), header, secret)
    assert not signing.verify(BODY.encode(), header, "whsec_wrong")
    assert not signing.verify(tampered.encode(), header, secret)


def test_rotation_header_carries_both_and_reference_takes_the_current(tmp_path: Path) -> None:
    old, new = signing.new_secret(), signing.new_secret()
    header = signing.sign(BODY, [old, new])
    assert len(re.findall(r"v1=", header)) == 2
    assert signing.verify(BODY, header, old)
    assert signing.verify(BODY, header, new)
    assert not signing.verify(BODY, header, signing.new_secret())
    # The reference verifier keeps the last v1: the current (new) secret's.
    assert node_verify(tmp_path, [(BODY, header, new)]) == [True]


def test_timestamp_tolerance() -> None:
    secret = signing.new_secret()
    now = time.time()
    fresh = signing.sign(BODY, [secret], timestamp=int(now) - 299)
    stale = signing.sign(BODY, [secret], timestamp=int(now) - 301)
    future = signing.sign(BODY, [secret], timestamp=int(now) + 301)
    assert signing.verify(BODY, fresh, secret, now=now)
    assert not signing.verify(BODY, stale, secret, now=now)
    assert not signing.verify(BODY, future, secret, now=now)
    assert signing.verify(BODY, stale, secret, tolerance=600, now=now)
    assert not signing.verify(BODY, "v1=abc", secret)
    assert not signing.verify(BODY, "t=x,v1=abc", secret)
    assert not signing.verify(BODY, "", secret)


def test_cli_verify(tmp_path: Path) -> None:
    secret = signing.new_secret()
    body = tmp_path / "body.json"
    body.write_text(BODY, encoding="utf-8")
    header = signing.sign(body.read_bytes(), [secret])
    from hadar.cli import main

    assert main(["webhooks", "verify", "--secret", secret, "--header", header, str(body)]) == 0
    assert main(["webhooks", "verify", "--secret", "whsec_x", "--header", header, str(body)]) == 1


def test_backoff_schedule_and_scale() -> None:
    assert SCHEDULE == (1, 5, 30, 300, 1800, 7200, 43200)
    assert [next_wait(n, 1.0) for n in range(1, 9)] == [*SCHEDULE, None]
    assert next_wait(1, 0.001) == pytest.approx(0.001)
    assert next_wait(7, 0.001) == pytest.approx(43.2)


def _resolver(mapping: dict[str, list[str]]) -> urls.Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        if host not in mapping:
            raise OSError("no such host")
        return mapping[host]

    return resolve


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.9",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "100.100.100.200",
        "0.0.0.0",
        "224.0.0.1",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
    ],
)
async def test_private_addresses_are_refused(address: str) -> None:
    assert not urls.is_public(ipaddress.ip_address(address))
    resolver = _resolver({"hooks.example.com": ["93.184.216.34", address]})
    with pytest.raises(urls.UnsafeUrl, match="non-public"):
        await urls.resolve_target(
            "https://hooks.example.com/x",
            environment="live",
            allow_private=False,
            resolver=resolver,
        )


async def test_url_rules() -> None:
    resolver = _resolver({"hooks.example.com": ["93.184.216.34"]})

    async def check(url: str, env: str = "live", allow_private: bool = False) -> urls.Target:
        return await urls.resolve_target(
            url, environment=env, allow_private=allow_private, resolver=resolver
        )

    target = await check("https://hooks.example.com:8443/in?x=1")
    assert target.addresses == ("93.184.216.34",)
    assert urls.pinned_url(target) == "https://93.184.216.34:8443/in?x=1"
    with pytest.raises(urls.UnsafeUrl, match="https"):
        await check("http://hooks.example.com/in")
    assert (await check("http://hooks.example.com/in", env="test")).port == 80
    with pytest.raises(urls.UnsafeUrl):
        await check("ftp://hooks.example.com/in", env="test")
    with pytest.raises(urls.UnsafeUrl, match="does not resolve"):
        await check("https://nowhere.example.com/in")
    with pytest.raises(urls.UnsafeUrl, match="credentials"):
        await check("https://user:pw@hooks.example.com/in")
    with pytest.raises(urls.UnsafeUrl, match="non-public"):
        await check("https://127.0.0.1/in")
    with pytest.raises(urls.UnsafeUrl, match="non-public"):
        await check("https://[::1]/in")
    lifted = await check("https://127.0.0.1/in", allow_private=True)
    assert urls.pinned_url(lifted) == "https://127.0.0.1/in"
    ipv6 = await urls.resolve_target(
        "https://v6.example.com/in",
        environment="live",
        allow_private=False,
        resolver=_resolver({"v6.example.com": ["2606:2800:220:1::1"]}),
    )
    assert urls.pinned_url(ipv6) == "https://[2606:2800:220:1::1]:443/in"
