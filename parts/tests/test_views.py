"""The shop-floor pages, through Django's test client: who sees what, and what each button does."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from files.tests.helpers import fetch, post_file
from files.tests.samples import box_step, pdf_bytes
from parts.lifecycle import Status
from parts.models import Part
from parts.tests.factories import make_part


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def messages_of(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.fixture
def converting(django_capture_on_commit_callbacks):
    """Uploads inside it are converted (in-process) when the upload's transaction commits."""
    return django_capture_on_commit_callbacks


@pytest.fixture
def lead_page(lead):
    return logged_in(lead)


@pytest.fixture
def fabricator_page(fabricator):
    return logged_in(fabricator)


@pytest.fixture
def viewer_page(viewer):
    return logged_in(viewer)


# Login and access


@pytest.mark.parametrize("path", ["/", "/stats/", "/parts/1/"])
def test_anonymous_visitors_are_sent_to_log_in(db, client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_a_person_logs_in_with_username_and_password_and_lands_on_the_board(client, fabricator):
    page = client.get("/login/")
    assert b'name="csrfmiddlewaretoken"' in page.content
    response = client.post("/login/", {"username": "bob", "password": "bob-secret-pw"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert b"Board" in response.content and b"bob" in response.content


def test_a_wrong_password_is_told_and_keeps_the_login_form(client, fabricator):
    response = client.post("/login/", {"username": "bob", "password": "wrong"})
    assert response.status_code == 200
    assert b"do not match" in response.content


def test_logging_out_ends_the_session(fabricator_page):
    response = fabricator_page.post("/logout/")
    assert response.status_code == 302
    assert fabricator_page.get("/").status_code == 302


def test_a_user_without_a_role_is_told_to_ask_for_one(roleless):
    response = logged_in(roleless).get("/")
    assert response.status_code == 403
    assert b"no role" in response.content


def test_the_admin_still_has_its_own_login(client, lead):
    assert client.get("/admin/")["Location"].startswith("/admin/login/")


def test_the_api_still_answers_anonymous_requests_with_401(db, client):
    assert client.get("/api/parts/").status_code == 401


def test_only_leads_see_the_admin_and_audit_links(lead_page, fabricator_page):
    assert b'href="/admin/"' in lead_page.get("/").content
    assert b'href="/audit/"' in lead_page.get("/").content
    assert b'href="/admin/"' not in fabricator_page.get("/").content
    assert b'href="/audit/"' not in fabricator_page.get("/").content


# The board


def test_the_board_shows_every_queue_with_its_count(viewer_page):
    make_part(Status.PENDING)
    make_part(Status.REVIEWED, type="cnc")
    make_part(Status.IN_PROGRESS, type="cnc")
    make_part(Status.REVIEWED, type="hand")
    make_part(Status.COMPLETED)
    queues = {q["value"]: q["count"] for q in viewer_page.get("/").context["queues"]}
    assert queues == {"review": 1, "cnc": 2, "hand": 1, "misc": 0, "completed": 1}


def test_the_board_cards_show_what_a_fabricator_needs(viewer_page, fabricator):
    make_part(
        Status.ALREADY_STARTED, part_number="P-00042", name="Gearbox plate", material="6061 aluminium",
        material_thickness="6 mm", amount=4, subsystem="Drivetrain", storage_location="Shelf B3",
    )
    page = viewer_page.get("/?queue=cnc").content.decode()
    for text in ("P-00042", "Gearbox plate", "6061 aluminium", "6 mm", '<dd class="amount">4</dd>', "Drivetrain", "Already started",
                 "Shelf B3"):
        assert text in page


def test_the_board_lists_half_finished_parts_first(viewer_page):
    waiting = make_part(Status.REVIEWED)
    half_done = make_part(Status.ALREADY_STARTED, storage_location="Bin 4")
    listed = [part.pk for part in viewer_page.get("/?queue=cnc").context["page"]]
    assert listed == [half_done.pk, waiting.pk]


def test_the_board_filters_by_subsystem_material_assignee_and_search(fabricator_page, fabricator, other_fabricator):
    mine = make_part(Status.IN_PROGRESS, assignee=fabricator, subsystem="Arm", material="Steel", name="Elbow")
    make_part(Status.IN_PROGRESS, assignee=other_fabricator, subsystem="Drivetrain", material="Aluminium")

    def shown(query):
        return [part.pk for part in fabricator_page.get(f"/?queue=cnc&{query}").context["page"]]

    assert shown("subsystem=Arm") == [mine.pk]
    assert shown("material=steel") == [mine.pk]
    assert shown("assignee=bob") == [mine.pk]
    assert shown("search=elbow") == [mine.pk]
    assert len(shown("")) == 2


def test_my_work_shows_only_my_parts_and_counts_them_per_queue(fabricator_page, fabricator, other_fabricator):
    make_part(Status.IN_PROGRESS, assignee=fabricator, type="hand")
    make_part(Status.IN_PROGRESS, assignee=other_fabricator, type="cnc")
    response = fabricator_page.get("/?assignee=me")
    assert response.context["queue"] == "all"  # one list across the queues
    assert len(response.context["page"]) == 1
    assert {q["value"]: q["count"] for q in response.context["queues"]}["cnc"] == 0
    assert b"My work" in response.content


def test_a_fabricator_claims_from_the_board_with_one_tap(fabricator_page, fabricator):
    part = make_part(Status.REVIEWED)
    board = fabricator_page.get("/?queue=cnc").content.decode()
    assert f"/parts/{part.pk}/move/claim/" in board
    response = fabricator_page.post(f"/parts/{part.pk}/move/claim/", {"next": "/?queue=cnc"})
    assert response["Location"] == "/?queue=cnc"
    part.refresh_from_db()
    assert part.status == Status.IN_PROGRESS and part.assignee == fabricator


def test_a_viewer_gets_no_claim_buttons_on_the_board(viewer_page):
    make_part(Status.REVIEWED)
    assert b"/move/claim/" not in viewer_page.get("/?queue=cnc").content


# The part page


def test_the_part_page_shows_every_field_and_the_timeline(viewer_page, fabricator):
    part = make_part(Status.ALREADY_STARTED, notes="Deburr all edges", storage_location="Shelf A1",
                     onshape_url="https://cad.onshape.com/documents/1")
    part.events.create(action="unclaim", from_status="in_progress", to_status="already_started", actor=fabricator,
                       note="Stored at Shelf A1")
    page = viewer_page.get(f"/parts/{part.pk}/").content.decode()
    for text in (part.part_number, "Bracket", "Deburr all edges", "Shelf A1", "Open in Onshape", "Unclaim",
                 "Stored at Shelf A1", "bob"):
        assert text in page


def test_the_part_page_offers_exactly_the_moves_the_lifecycle_allows(lead_page, fabricator_page, viewer_page,
                                                                       fabricator):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator)
    moves = {page: [m["action"] for m in page.get(f"/parts/{part.pk}/").context["moves"]]
             for page in (lead_page, fabricator_page, viewer_page)}
    assert moves[fabricator_page] == ["unclaim", "complete"]
    assert moves[lead_page] == ["repin", "unclaim", "complete", "send_back", "retire"]
    assert moves[viewer_page] == []
    assert b"/move/" not in viewer_page.get(f"/parts/{part.pk}/").content


def test_a_fabricator_may_not_touch_someone_elses_part(fabricator_page, other_fabricator):
    part = make_part(Status.IN_PROGRESS, assignee=other_fabricator)
    assert fabricator_page.get(f"/parts/{part.pk}/").context["moves"] == []


def test_unclaiming_asks_where_the_unfinished_part_is(fabricator_page, fabricator):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator)
    response = fabricator_page.post(f"/parts/{part.pk}/move/unclaim/", {"storage_location": "  "})
    assert response["Location"] == f"/parts/{part.pk}/"
    assert messages_of(response) == ["Where the unfinished part is stored is required."]
    response = fabricator_page.post(f"/parts/{part.pk}/move/unclaim/", {"storage_location": "Shelf B3"})
    part.refresh_from_db()
    assert part.status == Status.ALREADY_STARTED and part.storage_location == "Shelf B3"
    assert messages_of(response)[-1] == f"Unclaim: {part.part_number} is now already started."


def test_completing_several_units_needs_all_of_them_done(fabricator_page, fabricator):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator, amount=3)
    assert b"All 3 are made" in fabricator_page.get(f"/parts/{part.pk}/").content
    response = fabricator_page.post(f"/parts/{part.pk}/move/complete/", {"storage_location": "Cart 2"})
    assert "only when all 3 are made" in messages_of(response)[0]
    part.refresh_from_db()
    assert part.status == Status.IN_PROGRESS
    fabricator_page.post(f"/parts/{part.pk}/move/complete/", {"storage_location": "Cart 2", "all_done": "1"})
    part.refresh_from_db()
    assert part.status == Status.COMPLETED and part.storage_location == "Cart 2"


def test_reverting_asks_for_a_reason(lead_page):
    part = make_part(Status.COMPLETED)
    response = lead_page.post(f"/parts/{part.pk}/move/revert/", {"reason": ""})
    assert messages_of(response) == ["A reason is required."]
    lead_page.post(f"/parts/{part.pk}/move/revert/", {"reason": "Holes too small"})
    part.refresh_from_db()
    assert part.status == Status.IN_PROGRESS
    assert part.events.last().note == "Holes too small"


def test_a_lead_assigns_a_part_to_a_fabricator(lead_page, fabricator):
    part = make_part(Status.REVIEWED)
    lead_page.post(f"/parts/{part.pk}/move/assign/", {"assignee": "bob"})
    part.refresh_from_db()
    assert part.assignee == fabricator and part.status == Status.IN_PROGRESS


def test_an_illegal_move_is_a_message_on_the_page_not_an_error_page(fabricator_page, fabricator):
    part = make_part(Status.COMPLETED, assignee=fabricator)
    response = fabricator_page.post(f"/parts/{part.pk}/move/claim/", follow=True)
    assert response.status_code == 200
    assert "Cannot claim a part that is completed" in response.content.decode()


def test_a_refused_role_is_a_message_on_the_page_not_an_error_page(viewer_page):
    part = make_part(Status.REVIEWED)
    response = viewer_page.post(f"/parts/{part.pk}/move/claim/", follow=True)
    assert response.status_code == 200
    assert "Only a lead or a fabricator may claim a part." in response.content.decode()
    assert Part.objects.get(pk=part.pk).status == Status.REVIEWED


def test_an_unknown_move_is_a_message(lead_page):
    part = make_part(Status.REVIEWED)
    response = lead_page.post(f"/parts/{part.pk}/move/explode/", follow=True)
    assert "There is no move called &#x27;explode&#x27;." in response.content.decode()


def test_moves_need_a_post_with_the_csrf_token(fabricator, fabricator_page):
    part = make_part(Status.REVIEWED)
    assert fabricator_page.get(f"/parts/{part.pk}/move/claim/").status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(fabricator)
    assert strict.post(f"/parts/{part.pk}/move/claim/").status_code == 403
    assert Part.objects.get(pk=part.pk).status == Status.REVIEWED


def test_the_part_page_shows_the_3d_view_of_a_converted_revision(as_fabricator, viewer_page, converting):
    part = make_part(Status.PENDING)
    with converting(execute=True):
        post_file(as_fabricator, part, box_step())
    response = viewer_page.get(f"/parts/{part.pk}/")
    revision = part.revisions.get()
    assert response.context["model_ready"]
    assert f'data-model-url="/api/revisions/{revision.pk}/model/"'.encode() in response.content
    assert b"40.0 \xc3\x97 20.0 \xc3\x97 5.0 mm" in response.content


def test_the_part_page_says_why_there_is_no_3d_view(as_fabricator, viewer_page, converting):
    part = make_part(Status.PENDING)
    with converting(execute=True):
        post_file(as_fabricator, part, box_step(solid=False))
    page = viewer_page.get(f"/parts/{part.pk}/").content.decode()
    assert "No 3D view of R1 yet" in page and "failed" in page
    assert part.revisions.get().conversion_error in page


def test_revisions_are_listed_with_the_approved_and_built_ones_marked(as_fabricator, as_lead, viewer_page,
                                                                      fabricator):
    part = make_part(Status.PENDING)
    first = post_file(as_fabricator, part, box_step()).json()
    # Not converted yet (no worker here), so it is approved by name.
    assert as_lead.post(f"/api/parts/{part.pk}/approve/", {"revision": first["id"]}).status_code == 200
    post_file(as_fabricator, part, box_step(x=50))
    page = viewer_page.get(f"/parts/{part.pk}/").content.decode()
    assert page.count('class="tag approved"') == 1
    assert "R2 is newer than the approved R1." in page
    approved = part.revisions.get(number=1)
    assert f"/api/revisions/{approved.pk}/download/" in page


@pytest.mark.usefixtures("storage_backend")
def test_a_pdf_drawing_opens_in_the_browser(as_fabricator, viewer_page):
    part = make_part(Status.PENDING)
    post_file(as_fabricator, part, pdf_bytes(), filename="plate.pdf")
    drawing = part.revisions.get()
    assert f"/parts/{part.pk}/drawings/{drawing.pk}/".encode() in viewer_page.get(f"/parts/{part.pk}/").content
    _, headers, body = fetch(viewer_page, f"/parts/{part.pk}/drawings/{drawing.pk}/")
    headers = {name.lower(): value for name, value in headers.items()}
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("inline")
    assert body.startswith(b"%PDF-")


def test_the_part_page_shows_its_history_newest_first_with_repeated_views_folded(as_fabricator, viewer_page):
    part = make_part(Status.PENDING)
    post_file(as_fabricator, part, pdf_bytes(), filename="plate.pdf")
    drawing = part.revisions.get()
    for _ in range(3):
        viewer_page.get(f"/parts/{part.pk}/drawings/{drawing.pk}/")

    page = viewer_page.get(f"/parts/{part.pk}/").content.decode()

    viewed, uploaded = page.index("Downloaded the file: D1 plate.pdf"), page.index("Uploaded D1 plate.pdf")
    assert viewed < uploaded
    assert page.count("Downloaded the file: ") == 1 and "×3" in page
    assert "by carol" in page and "by bob" in page


def test_only_people_who_may_upload_get_the_upload_form(fabricator_page, viewer_page):
    part = make_part(Status.PENDING)
    assert b"data-upload" in fabricator_page.get(f"/parts/{part.pk}/").content
    assert b"data-upload" not in viewer_page.get(f"/parts/{part.pk}/").content


def test_the_session_can_start_a_direct_upload_with_the_csrf_token(fabricator):
    part = make_part(Status.PENDING)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(fabricator)
    token = browser.get(f"/parts/{part.pk}/").context["csrf_token"]
    body = {"filename": "bracket.step", "size": 1000}
    refused = browser.post(f"/api/parts/{part.pk}/uploads/", body, content_type="application/json")
    assert refused.status_code == 403
    started = browser.post(f"/api/parts/{part.pk}/uploads/", body, content_type="application/json",
                           headers={"X-CSRFToken": str(token)})
    assert started.status_code == 201


# Stats


def test_stats_count_queues_and_bucket_claim_to_completion_times(viewer_page, fabricator, other_fabricator):
    from datetime import timedelta

    from django.utils import timezone

    now = timezone.now()
    for hours, who, amount in [(0.5, fabricator, 2), (2, fabricator, 1), (30, other_fabricator, 5)]:
        make_part(Status.COMPLETED, assignee=who, amount=amount, claimed_at=now - timedelta(hours=hours),
                  completed_at=now)
    make_part(Status.REVIEWED, type="hand", amount=7)
    context = viewer_page.get("/stats/").context
    queues = {q["value"]: (q["count"], q["amount"]) for q in context["queues"]}
    assert queues["completed"] == (3, 8) and queues["hand"] == (1, 7)
    assert {b["label"]: b["count"] for b in context["buckets"]} == {
        "under 1 h": 1, "1–4 h": 1, "4–8 h": 0, "8–24 h": 0, "over 24 h": 1,
    }
    assert [(row["assignee__username"], row["parts"], row["units"]) for row in context["leaders"]] == [
        ("bob", 2, 3), ("dave", 1, 5),
    ]


def test_a_card_shows_the_preview_image_of_its_revision_once_there_is_one(as_fabricator, viewer_page):
    from files.models import Revision

    part = make_part(Status.REVIEWED)
    post_file(as_fabricator, part, box_step())
    revision = part.revisions.get()
    assert b"<img" not in viewer_page.get("/?queue=cnc").content
    Revision.objects.filter(pk=revision.pk).update(preview_key=f"previews/{revision.pk}/abc123.png")
    assert f'<img src="/api/revisions/{revision.pk}/preview/?v=abc123"'.encode() in viewer_page.get("/?queue=cnc").content


# Searching, sorting and the retired parts


def test_a_search_finds_parts_in_every_queue_and_the_tabs_count_the_matches(fabricator_page):
    make_part(Status.PENDING, name="Bracket for review")
    make_part(Status.REVIEWED, type="cnc", name="Plain plate")
    make_part(Status.COMPLETED, name="Finished bracket")
    make_part(Status.REVIEWED, type="misc", name="Bracket, misc")
    response = fabricator_page.get("/?queue=cnc&search=bracket")
    # The queue asked for holds no match: the search still shows every match, each with its queue.
    response = fabricator_page.get("/?search=bracket")
    html = response.content.decode()
    assert sorted(part.name for part in response.context["page"]) == ["Bracket for review", "Bracket, misc",
                                                                      "Finished bracket"]
    assert {q["value"]: q["count"] for q in response.context["queues"]} == {
        "all": 3, "review": 1, "cnc": 0, "hand": 0, "misc": 1, "completed": 1,
    }
    assert 'class="queue-tag" data-queue="review">Review<' in html
    assert 'class="queue-tag" data-queue="completed">Completed<' in html
    narrowed = fabricator_page.get("/?queue=misc&search=bracket")
    assert [part.name for part in narrowed.context["page"]] == ["Bracket, misc"]


def test_my_work_is_one_list_across_queues(fabricator_page, fabricator):
    started = make_part(Status.IN_PROGRESS, type="cnc", assignee=fabricator)
    done = make_part(Status.COMPLETED, type="hand", assignee=fabricator)
    make_part(Status.IN_PROGRESS, type="hand")
    response = fabricator_page.get("/?assignee=me")
    assert sorted(part.pk for part in response.context["page"]) == [started.pk, done.pk]
    assert b"My work" in response.content


def test_only_leads_see_and_search_the_retired_parts(lead_page, fabricator_page, viewer_page):
    retired = make_part(Status.RETIRED, name="Old bracket")
    make_part(Status.REVIEWED, name="New bracket")
    lead_board = lead_page.get("/?queue=retired")
    assert [part.pk for part in lead_board.context["page"]] == [retired.pk]
    assert "retired" in [q["value"] for q in lead_board.context["queues"]]
    assert len(lead_page.get("/?search=bracket").context["page"]) == 2
    for page in (fabricator_page, viewer_page):
        assert "retired" not in [q["value"] for q in page.get("/").context["queues"]]
        assert [part.name for part in page.get("/?search=bracket").context["page"]] == ["New bracket"]
        assert [part.name for part in page.get("/?queue=retired").context["page"]] == ["New bracket"]


def test_each_stats_tile_opens_the_queue_it_names(lead_page, viewer_page):
    make_part(Status.RETIRED)
    html = lead_page.get("/stats/").content.decode()
    for queue in ("review", "cnc", "hand", "misc", "completed", "retired"):
        assert f'href="/?queue={queue}" data-stat="{queue}"' in html
    assert lead_page.get("/?queue=retired").context["queue"] == "retired"
    # A viewer's board has no retired queue: the tile shows the count and opens nothing.
    html = viewer_page.get("/stats/").content.decode()
    assert 'href="/?queue=retired"' not in html and 'data-stat="retired"' in html


def test_the_board_sorts_by_newest_or_part_number(viewer_page):
    from datetime import timedelta

    from django.utils import timezone

    old = make_part(Status.REVIEWED, part_number="P-00003", created_at=timezone.now() - timedelta(days=2))
    new = make_part(Status.REVIEWED, part_number="P-00009")
    middle = make_part(Status.REVIEWED, part_number="P-00005", created_at=timezone.now() - timedelta(days=1))

    def listed(sort):
        return [part.pk for part in viewer_page.get(f"/?queue=cnc&sort={sort}").context["page"]]

    assert listed("newest") == [new.pk, middle.pk, old.pk]
    assert listed("part_number") == [old.pk, middle.pk, new.pk]


# Wording


def test_a_refused_claim_names_who_has_the_part(fabricator_page, other_fabricator, fabricator):
    part = make_part(Status.IN_PROGRESS, assignee=other_fabricator, part_number="P-00077")
    response = fabricator_page.post(f"/parts/{part.pk}/move/claim/", follow=True)
    assert messages_of(response) == [
        "P-00077 is already being made by dave; ask them or a lead to put it back."
    ]
    mine = make_part(Status.IN_PROGRESS, assignee=fabricator, part_number="P-00078")
    response = fabricator_page.post(f"/parts/{mine.pk}/move/claim/", follow=True)
    assert messages_of(response) == ["You are already making P-00078."]


def test_complete_asks_where_the_finished_part_is_and_does_not_offer_the_unfinished_ones_place(
    fabricator_page, fabricator,
):
    part = make_part(Status.IN_PROGRESS, assignee=fabricator, storage_location="Shelf B3 (unfinished)")
    html = fabricator_page.get(f"/parts/{part.pk}/").content.decode()
    form = html.split('data-move="complete"')[1].split("</details>")[0]
    assert "Where is the finished part?" in form
    assert "Shelf B3 (unfinished)" not in form
    assert 'name="storage_location"' in form and 'value=' not in form.split('name="storage_location"')[1].split(">")[0]


def test_a_part_marked_incorrect_says_it_is_to_be_made_again_and_why(lead_page, viewer_page, fabricator):
    part = make_part(Status.COMPLETED, assignee=fabricator, part_number="P-00088")
    lead_page.post(f"/parts/{part.pk}/move/mark_incorrect/", {"reason": "Holes 2 mm off"})
    page = viewer_page.get(f"/parts/{part.pk}/").content.decode()
    assert "To be made again: <strong>Holes 2 mm off</strong>" in page
    board = viewer_page.get("/?queue=cnc").content.decode()
    card = board.split('data-part="P-00088"')[1].split("</article>")[0]
    assert "To be made again: <strong>Holes 2 mm off</strong>" in card
    other = make_part(Status.REVIEWED, part_number="P-00089")
    assert "To be made again" not in viewer_page.get(f"/parts/{other.pk}/").content.decode()


# The part page keeps itself up to date


def test_the_live_answer_follows_a_conversion_from_waiting_to_ready(viewer_page, fabricator, converting):
    from files.models import ConversionStatus
    from files.tests.helpers import convert_now

    part = make_part()
    page = viewer_page.get(f"/parts/{part.pk}/").content.decode()
    assert 'data-live-url="/parts/%d/live/"' % part.pk in page
    revision = post_file(logged_in(fabricator), part, box_step()).json()
    live = viewer_page.get(f"/parts/{part.pk}/live/").json()
    assert live["busy"] is True
    assert live["viewer_state"] == f"{revision['id']}:pending"
    assert "updates by itself" in live["viewer_html"] and "bracket.step" in live["files_html"]
    assert [r["conversion_status"] for r in live["revisions"]] == [ConversionStatus.PENDING]
    convert_now(revision["id"])
    live = viewer_page.get(f"/parts/{part.pk}/live/").json()
    assert live["busy"] is False and live["viewer_state"] == f"{revision['id']}:ready"
    assert 'data-model-url="/api/revisions/%d/model/"' % revision["id"] in live["viewer_html"]


def test_the_live_answer_is_for_people_with_a_role_only(db, client, roleless):
    part = make_part()
    assert client.get(f"/parts/{part.pk}/live/").status_code == 302
    assert logged_in(roleless).get(f"/parts/{part.pk}/live/").status_code == 403


def test_each_role_keeps_its_own_high_contrast_choice_and_anonymous_visitors_log_in_first(
    db, client, viewer_page, viewer, fabricator,
):
    from parts.models import PagePreference

    assert client.post("/preferences/high-contrast/", {"high_contrast": "on"})["Location"].startswith("/login/")
    response = viewer_page.post("/preferences/high-contrast/", {"high_contrast": "on", "next": "/stats/"})
    assert response["Location"] == "/stats/"
    assert b'data-contrast="high"' in viewer_page.get("/stats/").content
    assert b'data-contrast="high"' not in logged_in(fabricator).get("/stats/").content
    viewer_page.post("/preferences/high-contrast/", {"high_contrast": "off", "next": "https://elsewhere.example/"})
    assert not PagePreference.objects.get(user=viewer).high_contrast
    assert viewer_page.get("/preferences/high-contrast/").status_code == 405
