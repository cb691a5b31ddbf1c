"""The Canvas → Salesforce dataset: deterministic, consistent across the two systems, loadable."""

from __future__ import annotations

import datetime as dt

import pytest

from canvasbridge_emulators.canvas import CanvasModel
from canvasbridge_emulators.salesforce import SalesforceModel
from canvasbridge_emulators.university.activity import ActivityDataset

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(scope="module")
def loaded() -> tuple[ActivityDataset, CanvasModel, SalesforceModel]:
    ds = ActivityDataset.generate("small", seed=7, today=TODAY)
    canvas = CanvasModel()
    canvas.add_user("Someone Else", unique_id="someone")  # Canvas numbers objects itself
    ds.load_canvas(canvas)
    sf = SalesforceModel(today=TODAY)
    ds.load_salesforce(sf)
    return ds, canvas, sf


def test_same_size_and_seed_give_the_same_dataset() -> None:
    a = ActivityDataset.generate("tiny", seed=3, today=TODAY)
    b = ActivityDataset.generate("tiny", seed=3, today=TODAY)
    c = ActivityDataset.generate("tiny", seed=4, today=TODAY)
    assert a == b
    assert a != c


def test_programmes_are_active_past_and_future_around_today() -> None:
    ds = ActivityDataset.generate("small", seed=1, today=TODAY)
    for p in ds.programmes:
        active = p.start <= TODAY < p.end
        assert active == (p.status == "active"), p
        assert (p.end <= TODAY) == (p.status == "past"), p


def test_canvas_ids_are_bound_and_lms_course_id_points_at_the_canvas_course(loaded) -> None:
    ds, canvas, sf = loaded
    for user in ds.users:
        assert canvas.find_user_by_sis(user.sis_user_id).id == user.id
    rows = sf.query("SELECT Name, LMS_Course_Id__c FROM TL_Programme__c")["records"]
    for row, programme in zip(rows, ds.programmes, strict=True):
        course = canvas.find_course_by_sis(programme.course_key)
        assert row["LMS_Course_Id__c"] == float(course.id)


def test_participant_uids_are_canvas_sis_user_ids(loaded) -> None:
    ds, canvas, sf = loaded
    uids = {
        r["Participant_UID__c"]
        for r in sf.query("SELECT Participant_UID__c FROM Programme_Participant__c")["records"]
    }
    assert uids == {p.uid for p in ds.participants}
    assert all(canvas.find_user_by_sis(uid) is not None for uid in uids)
    outsiders = [u for u in ds.users if u.role == "outsider"]
    assert outsiders and not uids & {u.sis_user_id for u in outsiders}


def test_flip_events_are_named_after_quizzes_and_assignments_of_the_programme_course(loaded) -> None:
    ds, _canvas, sf = loaded
    rows = sf.query("SELECT Event_Name__c, Cohort_lkp__r.LMS_Course_Id__c FROM FLIP_Event__c")["records"]
    assert len(rows) == len(ds.flip_events)
    by_course = {c.id: {i.name for i in c.items if i.kind in ("quiz", "assignment")} for c in ds.courses}
    for row in rows:
        assert row["Event_Name__c"] in by_course[int(row["Cohort_lkp__r"]["LMS_Course_Id__c"])]


def test_the_original_attendee_query_finds_rows_for_an_active_participant(loaded) -> None:
    ds, _canvas, sf = loaded
    programme = next(p for p in ds.programmes if p.status == "active")
    participant = next(p for p in ds.participants if p.programme_keys == [programme.key])
    event = next(e for e in ds.flip_events if e.programme_key == programme.key and e.send_to_lms)
    soql = (  # noqa: S608  (values escaped below, as the service must)
        "SELECT Id FROM Attendees__c WHERE Contact__r.Participant_UID__c = '{uid}' "
        "AND FLIP_Event__r.Send_to_LMS__c = true AND FLIP_Event__r.Cohort_lkp__r.LMS_Start_Date__c <= TODAY "
        "AND FLIP_Event__r.Cohort_lkp__r.LMS_End_Date__c > TODAY AND Contact__r.Email != null "
        "AND FLIP_Event__r.Event_Name__c = '{name}'"
    ).format(uid=participant.uid, name=event.name.replace("'", "\\'"))
    assert sf.query(soql)["totalSize"] == 1


def test_university_size_builds_quickly() -> None:
    import time

    started = time.perf_counter()
    ds = ActivityDataset.generate("university", seed=1, today=TODAY)
    assert time.perf_counter() - started < 5
    assert ds.summary()["participants"] >= 4000


def test_quizzes_assignments_topics_and_pages_are_loaded_into_canvas(loaded) -> None:
    ds, canvas, _sf = loaded
    for item in ds.items():
        course_id = ds.course(item.course_key).id
        getter = {
            "quiz": lambda i, c: canvas.get_quiz(i, c).title,
            "assignment": lambda i, c: canvas.get_assignment(i, c).name,
            "discussion_topic": lambda i, c: canvas.get_discussion_topic(i, c).title,
            "wiki_page": lambda i, c: canvas.get_page(str(i), c).title,
        }[item.kind]
        assert getter(item.id, course_id) == item.name
