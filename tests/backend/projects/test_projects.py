"""Projects and teams: lifecycle, invitations, roles, ownership, keys and the activity log."""

from __future__ import annotations

from sqlalchemy import func, select


def _members(client, project_id: int, headers) -> dict[str, str]:  # type: ignore[no-untyped-def]
    rows = client.get(f"/api/projects/{project_id}/members", headers=headers).json()
    return {row["username"]: row["role"] for row in rows}


def test_create_rename_describe_delete(client, make_person) -> None:  # type: ignore[no-untyped-def]
    alice = make_person("alice")
    made = client.post("/api/projects", json={"name": "Wake word"}, headers=alice.headers)
    assert made.status_code == 201 and made.json()["role"] == "owner"
    pid = made.json()["id"]
    renamed = client.patch(
        f"/api/projects/{pid}", json={"name": "Wake word v2", "description": "yes/no"},
        headers=alice.headers,
    )  # fmt: skip
    assert renamed.json()["name"] == "Wake word v2" and renamed.json()["description"] == "yes/no"
    assert (
        client.patch(f"/api/projects/{pid}", json={"name": "  "}, headers=alice.headers).status_code
        == 422
    )
    wrong = client.delete(
        f"/api/projects/{pid}", params={"confirm_name": "Wake word"}, headers=alice.headers
    )
    assert wrong.status_code == 400 and wrong.json()["detail"]["field"] == "confirm_name"
    assert client.get(f"/api/projects/{pid}", headers=alice.headers).status_code == 200
    gone = client.delete(
        f"/api/projects/{pid}", params={"confirm_name": "Wake word v2"}, headers=alice.headers
    )
    assert gone.status_code == 204
    assert client.get(f"/api/projects/{pid}", headers=alice.headers).status_code == 404


def test_outsider_sees_nothing_until_invited(client, make_person) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_person("alice"), make_person("bob")
    pid = client.post("/api/projects", json={"name": "Motion"}, headers=alice.headers).json()["id"]
    hidden = client.get(f"/api/projects/{pid}", headers=bob.headers)
    missing = client.get("/api/projects/999999", headers=bob.headers)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    assert pid not in [p["id"] for p in client.get("/api/projects", headers=bob.headers).json()]

    invitation = client.post(
        f"/api/projects/{pid}/invitations", json={"invitee": bob.username, "role": "viewer"},
        headers=alice.headers,
    )  # fmt: skip
    assert invitation.status_code == 201
    again = client.post(
        f"/api/projects/{pid}/invitations", json={"invitee": bob.username}, headers=alice.headers
    )
    assert again.status_code == 409 and again.json()["detail"]["code"] == "already_invited"
    pending = client.get("/api/users/me/invitations", headers=bob.headers).json()
    assert [i["project_name"] for i in pending] == ["Motion"]
    accepted = client.post(f"/api/invitations/{pending[0]['id']}/accept", headers=bob.headers)
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    assert client.get(f"/api/projects/{pid}", headers=bob.headers).json()["role"] == "viewer"
    twice = client.post(f"/api/invitations/{pending[0]['id']}/accept", headers=bob.headers)
    assert twice.status_code == 409
    member_again = client.post(
        f"/api/projects/{pid}/invitations", json={"invitee": bob.username}, headers=alice.headers
    )
    assert (
        member_again.status_code == 409
        and member_again.json()["detail"]["code"] == "already_member"
    )


def test_viewer_cannot_edit_and_decline_works(client, make_project, make_person) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("viewer")
    viewer = people["viewer"]
    denied = client.patch(f"/api/projects/{pid}", json={"name": "Mine"}, headers=viewer.headers)
    assert denied.status_code == 403 and "admin" in denied.json()["detail"]["message"]
    carol = make_person("carol")
    inv = client.post(
        f"/api/projects/{pid}/invitations",
        json={"invitee": carol.username},
        headers=people["owner"].headers,
    ).json()
    declined = client.post(f"/api/invitations/{inv['id']}/decline", headers=carol.headers)
    assert declined.json()["status"] == "declined"
    assert client.get(f"/api/projects/{pid}", headers=carol.headers).status_code == 404
    stranger = client.post(f"/api/invitations/{inv['id']}/accept", headers=viewer.headers)
    assert stranger.status_code == 404


def test_invite_unknown_email_is_claimed_on_registration(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project()
    import uuid

    email = f"newcomer-{uuid.uuid4().hex[:6]}@example.com"
    invited = client.post(
        f"/api/projects/{pid}/invitations", json={"invitee": email, "role": "editor"},
        headers=people["owner"].headers,
    )  # fmt: skip
    assert invited.status_code == 201
    registered = client.post(
        "/api/auth/register",
        json={"username": email.split("@")[0], "email": email, "password": "Fresh-arrival-77"},
    )
    csrf = registered.json()["csrf_token"]
    mine = client.get("/api/users/me/invitations").json()
    assert [i["role"] for i in mine] == ["editor"]
    client.post(f"/api/invitations/{mine[0]['id']}/accept", headers={"x-csrf-token": csrf})
    assert client.get(f"/api/projects/{pid}").json()["role"] == "editor"
    client.cookies.clear()


def test_inviting_reveals_nobody(client, make_project, make_person) -> None:  # type: ignore[no-untyped-def]
    import uuid

    pid, people = make_project("viewer", "admin")
    known = make_person("known")
    stranger = f"stranger-{uuid.uuid4().hex[:6]}"

    def invite(invitee: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        answer = client.post(
            f"/api/projects/{pid}/invitations", json={"invitee": invitee},
            headers=people["owner"].headers,
        )  # fmt: skip
        return answer.status_code, answer.json()

    by_name, unknown_name = invite(known.username), invite(stranger)
    assert by_name[0] == unknown_name[0] == 201 and by_name[1].keys() == unknown_name[1].keys()
    assert by_name[1]["invitee_email"] is None and unknown_name[1]["invitee_email"] is None
    assert unknown_name[1]["invitee_username"] == stranger
    by_email, unknown_email = invite(known.email), invite(f"{stranger}@example.com")
    assert by_email[0] == unknown_email[0] == 201 and by_email[1].keys() == unknown_email[1].keys()
    assert by_email[1]["invitee_username"] is None and unknown_email[1]["invitee_username"] is None
    listed = client.get(f"/api/projects/{pid}/invitations", headers=people["owner"].headers)
    typed = {known.username, stranger, known.email, f"{stranger}@example.com"}
    assert {i["invitee_username"] or i["invitee_email"] for i in listed.json()} == typed
    cancelled = client.delete(
        f"/api/projects/{pid}/invitations/{unknown_name[1]['id']}", headers=people["owner"].headers
    )
    assert cancelled.status_code == 204

    def emails(role: str) -> set[str | None]:
        members = client.get(f"/api/projects/{pid}/members", headers=people[role].headers).json()
        assert len(members) == 3
        return {m["email"] for m in members}

    assert emails("viewer") == {None}
    assert emails("admin") == {people[r].email for r in ("owner", "viewer", "admin")}

    # Invited by name and by email, one person joins once.
    mine = client.get("/api/users/me/invitations", headers=known.headers).json()
    assert len(mine) == 2
    first, second = (
        client.post(f"/api/invitations/{i['id']}/accept", headers=known.headers) for i in mine
    )
    assert first.status_code == 200
    assert second.status_code == 409 and second.json()["detail"]["code"] == "already_member"


def test_roles_owner_is_always_kept(client, make_project, db) -> None:  # type: ignore[no-untyped-def]
    from backend.projects.models import Membership

    pid, people = make_project("admin", "editor", "viewer")
    owner, admin, editor = people["owner"], people["admin"], people["editor"]
    base = f"/api/projects/{pid}/members"
    promote = client.patch(f"{base}/{editor.id}", json={"role": "owner"}, headers=owner.headers)
    assert promote.status_code == 400 and promote.json()["detail"]["code"] == "use_transfer"
    demote_owner = client.patch(
        f"{base}/{owner.id}", json={"role": "viewer"}, headers=admin.headers
    )
    assert demote_owner.status_code == 409
    remove_owner = client.delete(f"{base}/{owner.id}", headers=admin.headers)
    assert remove_owner.status_code == 409
    leave_owner = client.post(f"/api/projects/{pid}/leave", headers=owner.headers)
    assert leave_owner.status_code == 409 and "transfer" in leave_owner.json()["detail"]["message"]
    admin_grant = client.patch(f"{base}/{editor.id}", json={"role": "admin"}, headers=admin.headers)
    assert admin_grant.status_code == 403
    ok = client.patch(f"{base}/{editor.id}", json={"role": "viewer"}, headers=admin.headers)
    assert ok.status_code == 200
    db.expire_all()
    owners = db.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.project_id == pid, Membership.role == "owner")
    )
    assert owners == 1

    transferred = client.post(
        f"/api/projects/{pid}/transfer", json={"user_id": admin.id}, headers=owner.headers
    )
    assert transferred.status_code == 200
    roles = _members(client, pid, owner.headers)
    assert roles[admin.username] == "owner" and roles[owner.username] == "admin"
    assert client.post(f"/api/projects/{pid}/leave", headers=owner.headers).status_code == 204
    assert client.get(f"/api/projects/{pid}", headers=owner.headers).status_code == 404
    removed = client.delete(f"{base}/{editor.id}", headers=admin.headers)
    assert removed.status_code == 204
    assert editor.username not in _members(client, pid, admin.headers)


def test_api_keys_and_hmac_key(client, make_project) -> None:  # type: ignore[no-untyped-def]
    pid, people = make_project("editor")
    owner = people["owner"]
    created = client.post(
        f"/api/projects/{pid}/api-keys", json={"name": "nano"}, headers=owner.headers
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("tsk_")
    listed = client.get(f"/api/projects/{pid}/api-keys", headers=owner.headers).json()
    assert listed[0]["name"] == "nano" and key not in str(listed)
    assert client.get("/api/device/project", headers={"x-api-key": key}).status_code == 200
    used = client.get(f"/api/projects/{pid}/api-keys", headers=owner.headers).json()[0]
    assert used["last_used_at"] is not None
    client.delete(f"/api/projects/{pid}/api-keys/{created.json()['id']}", headers=owner.headers)
    assert client.get("/api/device/project", headers={"x-api-key": key}).status_code == 401

    first = client.get(f"/api/projects/{pid}/hmac-key", headers=people["editor"].headers).json()
    rotated = client.post(f"/api/projects/{pid}/hmac-key/rotate", headers=owner.headers).json()
    assert len(first["hmac_key"]) == 64 and first["hmac_key"] != rotated["hmac_key"]


def test_activity_is_newest_first_and_paginated(client, make_person) -> None:  # type: ignore[no-untyped-def]
    alice = make_person("alice")
    pid = client.post("/api/projects", json={"name": "Log"}, headers=alice.headers).json()["id"]
    for n in range(5):
        client.patch(f"/api/projects/{pid}", json={"name": f"Log {n}"}, headers=alice.headers)
    page = client.get(
        f"/api/projects/{pid}/activity", params={"limit": 2}, headers=alice.headers
    ).json()
    assert page["total"] == 6 and len(page["items"]) == 2
    assert page["items"][0]["details"]["name"]["to"] == "Log 4"
    assert page["items"][0]["actor"] == alice.username
    last = client.get(
        f"/api/projects/{pid}/activity", params={"limit": 2, "offset": 4}, headers=alice.headers
    ).json()
    assert [e["action"] for e in last["items"]] == ["project.updated", "project.created"]
