from canvasbridge.errors import NotFoundError
from canvasbridge.live_events.lookups import CachedCanvasLookups


class FakeCanvas:
    def __init__(self):
        self.gets = []
        self.pages = []
        self.users = {"1": {"id": 1, "sis_user_id": "S1"}, "2": {"id": 2, "sis_user_id": None}}

    def get(self, path, **params):
        self.gets.append(path)
        kind, _, ident = path.partition("/")
        if kind == "users":
            if ident not in self.users:
                raise NotFoundError("no such user")
            return self.users[ident]
        if "quizzes" in path and "submissions" in path:
            return {"quiz_submissions": [{"score": 7.5, "quiz_points_possible": 10}]}
        if "quizzes" in path:
            return {"title": "Module 1 Quiz"}
        return {"name": "Course A"}

    def paginate(self, path, **params):
        self.pages.append(path)
        yield from ({"id": 10 + i, "sis_user_id": f"R{i}"} for i in range(150))


def test_answers_are_cached_including_not_found_until_the_ttl():
    canvas, now = FakeCanvas(), [0.0]
    lookups = CachedCanvasLookups(canvas.get, ttl_s=60, clock=lambda: now[0])
    assert lookups.user_sis_id("1") == "S1"
    assert lookups.user_sis_id("1") == "S1"
    assert lookups.user_sis_id("2") is None and lookups.user_sis_id("404") is None
    assert lookups.user_sis_id("404") is None
    assert canvas.gets == ["users/1", "users/2", "users/404"]
    now[0] = 61
    lookups.user_sis_id("1")
    assert canvas.gets[-1] == "users/1" and lookups.calls == 4 and lookups.hits == 2


def test_a_miss_in_a_course_reads_the_roster_once_for_all_its_users():
    canvas = FakeCanvas()
    lookups = CachedCanvasLookups(canvas.get, paginate=canvas.paginate)
    assert [lookups.user_sis_id(str(10 + i), "565") for i in (0, 5, 149)] == ["R0", "R5", "R149"]
    assert canvas.pages == ["courses/565/users"] and canvas.gets == []
    assert lookups.calls == 2  # two pages of 100
    assert lookups.user_sis_id("1", "565") == "S1"  # not on the roster: asked directly
    assert canvas.pages == ["courses/565/users"] and canvas.gets == ["users/1"]


def test_scores_are_never_cached():
    canvas = FakeCanvas()
    lookups = CachedCanvasLookups(canvas.get)
    assert lookups.quiz_score("1", "2", "3") == "7.5/10"
    lookups.quiz_score("1", "2", "3")
    assert len(canvas.gets) == 2
    assert lookups.quiz_title("1", "2") == lookups.quiz_title("1", "2") == "Module 1 Quiz"
    assert len(canvas.gets) == 3
