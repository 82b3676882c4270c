"""Provision N users and one group of N members through the SCIM endpoint, as an IdP would, and
print the times. Usage: python bench/scim_provision.py BASE_URL TOKEN [N] [THREADS]"""

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

BASE, TOKEN = sys.argv[1].rstrip("/"), sys.argv[2]
N = int(sys.argv[3]) if len(sys.argv) > 3 else 10_000
THREADS = int(sys.argv[4]) if len(sys.argv) > 4 else 4
BATCH = 500
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/scim+json"}


def session() -> requests.Session:
    s = requests.Session()
    s.headers.update(HEADERS)
    return s


def create_users(numbers: range) -> list[str]:
    s, ids = session(), []
    for n in numbers:
        answer = s.post(
            f"{BASE}/Users",
            timeout=30,
            json={
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": f"user{n}@bench.example",
                "name": {"givenName": f"User{n}", "familyName": "Bench"},
                "externalId": f"ext-{n}",
                "emails": [{"value": f"user{n}@bench.example", "primary": True}],
                "active": True,
            },
        )
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    return ids


started = time.perf_counter()
chunks = [range(i, N, THREADS) for i in range(THREADS)]
with ThreadPoolExecutor(THREADS) as pool:
    ids = [user_id for part in pool.map(create_users, chunks) for user_id in part]
users_seconds = time.perf_counter() - started

s = session()
group = s.post(f"{BASE}/Groups", json={"displayName": "Everyone"}, timeout=30)
group.raise_for_status()
group_id = group.json()["id"]
started = time.perf_counter()
for i in range(0, len(ids), BATCH):
    answer = s.patch(
        f"{BASE}/Groups/{group_id}",
        timeout=300,
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": v} for v in ids[i : i + BATCH]]}],
        },
    )
    answer.raise_for_status()
members_seconds = time.perf_counter() - started

started = time.perf_counter()
slim = s.get(f"{BASE}/Groups/{group_id}", params={"excludedAttributes": "members"}, timeout=30)
full = s.get(f"{BASE}/Groups/{group_id}", timeout=120)
found = s.get(f"{BASE}/Users", params={"filter": f'userName eq "user{N // 2}@bench.example"'}, timeout=30)
reads_seconds = time.perf_counter() - started
assert len(full.json()["members"]) == N and found.json()["totalResults"] == 1 and "members" not in slim.json()

print(
    f"users={N} users_s={users_seconds:.1f} users_per_s={N / users_seconds:.0f} "
    f"members={N} members_s={members_seconds:.1f} members_per_s={N / members_seconds:.0f} "
    f"reads_s={reads_seconds:.2f} threads={THREADS}"
)
