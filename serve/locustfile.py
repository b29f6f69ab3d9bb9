"""Load scenarios for the classify service (loopback only; run through serve/loadtest.py, which bounds time).

SingleComment posts one comment per request as fast as it can, HalfLoad does the same paced at
FEEDBACKML_LOADTEST_RATE requests/s per user (loadtest.py sets it to half the saturating rate), Batch32 posts 32;
texts are drawn from the held-out test split. The key comes from FEEDBACKML_LOADTEST_KEY. The users are
FastHttpUser (geventhttpclient): the load generator shares the machine's cores with the server, and the requests
client would take several times more of them per request.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

from locust import FastHttpUser, constant, constant_throughput, task

TEXTS = [
    json.loads(line)["text"]
    for line in (Path(__file__).resolve().parents[1] / "data" / "labelled" / "test.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
]
HEADERS = {"Authorization": f"Bearer {os.environ.get('FEEDBACKML_LOADTEST_KEY', '')}"}


class SingleComment(FastHttpUser):
    wait_time = constant(0)

    @task
    def classify_one(self) -> None:
        body = {"items": [{"id": "1", "text": random.choice(TEXTS)}]}
        with self.client.post(
            "/v1/classify", json=body, headers=HEADERS, name="1 comment", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")


class HalfLoad(SingleComment):
    wait_time = constant_throughput(float(os.environ.get("FEEDBACKML_LOADTEST_RATE") or "1"))


class Batch32(FastHttpUser):
    wait_time = constant(0)

    @task
    def classify_batch(self) -> None:
        body = {"items": [{"id": str(i), "text": text} for i, text in enumerate(random.sample(TEXTS, 32))]}
        with self.client.post(
            "/v1/classify", json=body, headers=HEADERS, name="32 comments", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"status {response.status_code}")
