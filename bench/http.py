"""One signed-in person talking to the app over HTTP, and latency bookkeeping."""

import asyncio
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import httpx

POLL_SECONDS = 0.05


class BenchError(Exception):
    """The app answered something the benchmark did not expect; the message says what."""


def percentile(values: list[float], p: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), p in 0..100."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(values: list[float]) -> dict:
    """Latency summary in milliseconds from durations in seconds."""
    ms = [v * 1000 for v in values]
    return {
        "count": len(ms),
        "p50_ms": _round(percentile(ms, 50)),
        "p95_ms": _round(percentile(ms, 95)),
        "p99_ms": _round(percentile(ms, 99)),
        "max_ms": _round(max(ms) if ms else None),
        "mean_ms": _round(sum(ms) / len(ms) if ms else None),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class Timings:
    """Durations (seconds) of successful requests and counts of failed ones, by label."""

    ok: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failed: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))

    def report(self) -> dict:
        labels = sorted(set(self.ok) | set(self.failed))
        return {label: {**summary_ms(self.ok.get(label, [])), "errors": dict(self.failed.get(label, {}))} for label in labels}


class User:
    """A person with their own cookie jar and CSRF token, as a browser or an API integration has."""

    def __init__(self, base_url: str, email: str, password: str, timings: Timings | None = None):
        self.email = email
        self.password = password
        self.timings = timings or Timings()
        self.csrf = ""
        self.http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(60.0), follow_redirects=False)

    async def close(self) -> None:
        await self.http.aclose()

    async def sign_in(self) -> None:
        response = await self.http.post("/api/v1/session", json={"email": self.email, "password": self.password})
        if response.status_code != 200:
            raise BenchError(f"sign-in of {self.email} answered {response.status_code}: {response.text[:200]}")
        self.csrf = response.json()["csrf_token"]

    async def request(self, label: str | None, method: str, url: str, expect: tuple[int, ...] = (200,), **kwargs) -> httpx.Response:
        """Send and time a request; an unexpected status counts as an error of the label and raises."""
        headers = kwargs.pop("headers", {})
        if method in ("POST", "PUT", "DELETE"):
            headers["X-CSRF-Token"] = self.csrf
        started = time.perf_counter()
        try:
            response = await self.http.request(method, url, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            if label:
                self.timings.failed[label][type(error).__name__] += 1
            raise BenchError(f"{method} {url}: {type(error).__name__} {error}") from error
        elapsed = time.perf_counter() - started
        if response.status_code not in expect:
            if label:
                self.timings.failed[label][str(response.status_code)] += 1
            raise BenchError(f"{method} {url} answered {response.status_code}: {response.text[:300]}")
        if label:
            self.timings.ok[label].append(elapsed)
        return response

    async def poll(self, url: str, ready, timeout: float) -> httpx.Response:
        """GET url until ready(response) holds (an untimed wait, as a page refresh would be)."""
        deadline = time.monotonic() + timeout
        while True:
            response = await self.http.get(url)
            if ready(response):
                return response
            if time.monotonic() > deadline:
                raise BenchError(f"GET {url} not ready after {timeout:.0f} s: {response.status_code} {response.text[:200]}")
            await asyncio.sleep(POLL_SECONDS)


async def sign_in_all(users: list[User], concurrency: int = 4) -> None:
    # Each sign-in verifies an argon2 hash (deliberately slow), so they go a few at a time.
    gate = asyncio.Semaphore(concurrency)

    async def one(user: User) -> None:
        async with gate:
            await user.sign_in()

    await asyncio.gather(*(one(u) for u in users))
