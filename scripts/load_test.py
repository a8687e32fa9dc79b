"""Load test for `docqa serve`: N concurrent clients send /ask for a bounded time over loopback.

    python scripts/load_test.py --clients 8 --seconds 60 --url http://127.0.0.1:8000

Prints requests/s, p50/p95 latency and errors. Only loopback addresses are accepted, so it can never be
pointed at someone else's server by mistake. Not a unit test.
"""
from __future__ import annotations

import argparse
import asyncio
import ipaddress
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app.config import Settings

QUESTIONS = [
    "2025년 서울시재단 인력은 몇 명이야?",
    "서울시재단 2025년 서울시 출연금 예산현액은?",
    "2024년 서울디지털재단의 주요 사업은 무엇인가요?",
    "서울시재단 4급 정원 몇 명이에요?",
    "서울시재단 5급 현원은 지금 몇 명인가요?",
    "2024년도 디지털정책관 소관 예산안 총액은 얼마인가요?",
    "서울시재단 인건비 2025 예산현액은?",
    "화성 탐사선 발사 예산은 얼마야?",  # off-topic: exercises abstention
]


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests only
    errors: Counter = field(default_factory=Counter)
    abstained: int = 0


def loopback_only(url: str) -> str:
    host = urlparse(url).hostname or ""
    try:
        ok = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        ok = False
    if not ok:
        raise SystemExit(f"오류: 루프백 주소만 허용합니다 (loopback only, got {host!r})")
    return url.rstrip("/")


async def client_loop(client: httpx.AsyncClient, worker: int, deadline: float, stats: Stats) -> None:
    i = worker  # clients start on different questions
    while time.monotonic() < deadline:
        question = QUESTIONS[i % len(QUESTIONS)]
        i += 1
        start = time.perf_counter()
        try:
            r = await client.post("/ask", json={"question": question})
        except httpx.HTTPError as exc:
            stats.errors[type(exc).__name__] += 1
            continue
        elapsed = time.perf_counter() - start
        if r.status_code != 200:
            stats.errors[f"HTTP {r.status_code}"] += 1
            continue
        stats.latencies.append(elapsed)
        stats.abstained += bool(r.json().get("abstained"))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def run(url: str, clients: int, seconds: float, token: str, timeout: float) -> Stats:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=timeout, limits=limits) as client:
        health = await client.get("/health")
        health.raise_for_status()
        print(f"서버: {health.json()}", flush=True)
        stats = Stats()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(client_loop(client, w, deadline, stats) for w in range(clients)))
    return stats


def report(stats: Stats, clients: int, wall: float) -> str:
    ok = len(stats.latencies)
    total = ok + sum(stats.errors.values())
    ms = [x * 1000 for x in stats.latencies]
    lines = [
        (f"clients {clients}, {wall:.1f}s: 요청 {total}건, 성공 {ok}건, 오류 {sum(stats.errors.values())}건"
         + (f" {dict(stats.errors)}" if stats.errors else "")),
        f"처리량 {ok / wall:.2f} req/s",
        (f"지연 p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
         f"max {max(ms) if ms else float('nan'):.0f} ms"),
        f"답변 보류(abstained) {stats.abstained}건",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="docqa /ask 부하 시험 (loopback only)")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--timeout", type=float, default=120.0, help="요청당 제한 시간(초)")
    parser.add_argument("--token", default=Settings().api_token, help="Bearer 토큰 (DOCQA_API_TOKEN)")
    args = parser.parse_args(argv)
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients >= 1, --seconds > 0")
    url = loopback_only(args.url)
    start = time.monotonic()
    stats = asyncio.run(run(url, args.clients, args.seconds, args.token, args.timeout))
    print(report(stats, args.clients, time.monotonic() - start))
    return 1 if stats.errors else 0


if __name__ == "__main__":
    sys.exit(main())
