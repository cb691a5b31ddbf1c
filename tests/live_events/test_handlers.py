from canvasbridge.live_events.caliper import parse_envelope
from canvasbridge.live_events.handlers import HANDLERS, HandlerContext
from canvasbridge.live_events.naming import event_name
from tests.live_events.factories import actor, envelope
from tests.live_events.fakes import FakeLookups

REQUIRED = {
    "quiz_submitted",
    "submission_created",
    "submission_updated",
    "grade_change",
    "discussion_topic_created",
    "discussion_entry_created",
    "enrollment_created",
    "enrollment_updated",
    "logged_in",
    "logged_out",
    "assignment_created",
    "assignment_updated",
    "wiki_page_created",
    "wiki_page_updated",
    "wiki_page_deleted",
    "asset_accessed",
}


def run(name, lookups=None, fetch_scores=False, **kwargs):
    [caliper_event] = parse_envelope(envelope(name, **kwargs))
    lookups = lookups or FakeLookups()
    return HANDLERS[event_name(caliper_event)].handler(
        caliper_event, name, HandlerContext(lookups, fetch_scores)
    ), lookups


def test_every_required_event_has_a_handler_and_asset_accessed_is_off():
    assert HANDLERS.keys() >= REQUIRED
    assert not HANDLERS["asset_accessed"].enabled
    assert all(HANDLERS[name].enabled for name in REQUIRED - {"asset_accessed"})


def test_every_handler_returns_uid_local_course_label_and_detail():
    for name in sorted(REQUIRED):
        activity, _ = run(name)
        assert activity.participant_uid == "S1001", name
        assert activity.label and activity.summary, name
        if name in ("logged_in", "logged_out"):
            assert activity.course_id is None and not activity.course_scoped
        else:
            assert activity.course_id == "565", name  # local id, always
            assert activity.course_scoped


def test_course_id_is_local_for_global_and_local_payloads():
    assert run("discussion_topic_created")[0].course_id == "565"
    assert run("discussion_topic_created", local_ids=True)[0].course_id == "565"


def test_sis_id_comes_from_the_actor_without_a_canvas_call():
    activity, lookups = run("logged_in")
    assert activity.participant_uid == "S1001"
    assert lookups.calls["user_sis_id"] == 0


def test_sis_id_is_looked_up_when_the_actor_has_none():
    activity, lookups = run("logged_in", sis=None)
    assert activity.participant_uid == "S-looked-up"
    assert lookups.calls["user_sis_id"] == 1


def test_quiz_submitted_uses_the_quiz_title_for_detail_and_attendance():
    activity, lookups = run("quiz_submitted")
    assert activity.label == "Quiz Submitted"
    assert activity.match_name == "Module 1 Quiz"
    assert '"Module 1 Quiz"' in activity.summary and '"Leading Teaching"' in activity.summary
    assert "score" not in activity.summary and lookups.calls["quiz_score"] == 0
    scored, _ = run("quiz_submitted", fetch_scores=True)
    assert scored.summary.endswith("with score 8/10")


def test_grade_change_belongs_to_the_student_not_the_grader_and_reads_the_payload_grade():
    body = envelope("grade_change", user=303)
    body["data"][0]["actor"] = actor(999, "TEACHER-9")  # the grader
    [caliper_event] = parse_envelope(body)
    lookups = FakeLookups()
    activity = HANDLERS["grade_change"].handler(caliper_event, "grade_change", HandlerContext(lookups))
    assert activity.user_id == "303"
    assert activity.participant_uid == "S-looked-up"  # the grader's SIS id must not be used
    assert "with grade B" in activity.summary
    assert activity.match_name is None


def test_enrollment_participant_is_the_enrolled_user_from_the_extension():
    activity, _ = run("enrollment_created", user=404)
    assert activity.user_id == "404"
    assert "StudentEnrollment" in activity.summary and "(status active)" in activity.summary


def test_detail_is_built_per_participant_without_reuse():
    activity, _ = run("discussion_entry_created")
    first = activity.detail("Ada Lovelace")
    second = activity.detail("Grace Hopper")
    assert first.startswith("Ada Lovelace replied to the discussion") and first.endswith("on 2026-03-04")
    assert second.startswith("Grace Hopper") and "Ada" not in second


def test_missing_names_fall_back_to_ids_offline():
    activity, _ = run("quiz_submitted", lookups=FakeLookups(quiz_title=None, course_name=None))
    assert activity.match_name is None
    assert "quiz 77" in activity.summary and "in course 565" in activity.summary
