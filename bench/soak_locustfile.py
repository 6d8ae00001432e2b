"""The soak's clients (bench/soak.py starts them): leads and fabricators who list and open parts,
upload and download files, move parts along the lifecycle and ask for conversions again.

A 409 is an answer, not an error: sixteen people moving the same parts race for them, and a
conversion asked for twice is refused while it runs. Anything else that is not a 2xx (or the
302 of a download from S3) counts as an error.
"""

import json
import os
import random
import uuid

from locust import HttpUser, between, task

from files.tests.samples import box_step

KEYS = json.loads(os.environ["SOAK_KEYS"])  # {"lead": [...], "fabricator": [...]}
PART_IDS = json.loads(os.environ["SOAK_PART_IDS"])
MOVE_BODY = {"reason": "Soak test", "note": "Soak test", "storage_location": "Shelf S1", "all_done": True}
revisions = []  # ids of the STEP revisions uploaded so far, shared by the users of this process


class Person(HttpUser):
    abstract = True
    wait_time = between(0.5, 2)
    role = "fabricator"

    def on_start(self):
        self.key = random.choice(KEYS[self.role])
        self.client.headers["X-API-Key"] = self.key

    def _expect(self, response, *statuses):
        if response.status_code in statuses:
            response.success()
        else:
            response.failure(f"{response.status_code}: {response.error or response.text[:200]}")

    @task(6)
    def list_parts(self):
        with self.client.get("/api/parts/?page_size=50", name="list parts", catch_response=True) as response:
            self._expect(response, 200)

    @task(6)
    def part_detail(self):
        part_id = random.choice(PART_IDS)
        with self.client.get(f"/api/parts/{part_id}/", name="part detail", catch_response=True) as response:
            self._expect(response, 200)

    @task(2)
    def upload(self):
        part_id = random.choice(PART_IDS)
        size = [random.randint(5, 200) for _ in range(3)]
        content = box_step(*size, name=f"Soak {uuid.uuid4().hex[:8]}", padding=random.choice([0, 0, 0, 2_000_000]))
        with self.client.post(
            f"/api/parts/{part_id}/revisions/", files={"file": (f"soak-{uuid.uuid4().hex[:8]}.step", content)},
            name="upload", catch_response=True,
        ) as response:
            self._expect(response, 201, 409)  # 409: the part was retired meanwhile
            if response.status_code == 201:
                revisions.append(response.json()["id"])

    @task(3)
    def download(self):
        if not revisions:
            return
        revision_id = random.choice(revisions)
        with self.client.get(
            f"/api/revisions/{revision_id}/download/", name="download", catch_response=True,
        ) as response:
            self._expect(response, 200, 404)  # 404: its part was deleted (never, here) or the file is gone

    @task(1)
    def model(self):
        if not revisions:
            return
        revision_id = random.choice(revisions)
        with self.client.get(f"/api/revisions/{revision_id}/model/", name="3D model", catch_response=True) as response:
            self._expect(response, 200, 409)  # 409: not converted yet

    @task(3)
    def move(self):
        part_id = random.choice(PART_IDS)
        part = self.client.get(f"/api/parts/{part_id}/", name="part detail").json()
        actions = [action for action in part.get("allowed_actions", []) if action not in ("retire", "assign")]
        if not actions:
            return
        action = random.choice(actions)
        with self.client.post(
            f"/api/parts/{part_id}/{action}/", json=MOVE_BODY, name=f"move: {action}", catch_response=True,
        ) as response:
            self._expect(response, 200, 409)


class Lead(Person):
    role = "lead"
    weight = 1

    @task(1)
    def reconvert(self):
        if not revisions:
            return
        revision_id = random.choice(revisions)
        with self.client.post(
            f"/api/revisions/{revision_id}/reconvert/", name="reconvert", catch_response=True,
        ) as response:
            self._expect(response, 200, 409)  # 409: it is waiting for or in conversion


class Fabricator(Person):
    weight = 3
