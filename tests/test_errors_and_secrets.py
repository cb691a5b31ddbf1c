import pytest
from pydantic import ValidationError

from canvasbridge.errors import NotFoundError, PermanentError, RateLimitedError, TransientError
from canvasbridge.secrets import SecretRef


def test_error_branches_tell_retryable_from_final():
    assert issubclass(RateLimitedError, TransientError)
    assert issubclass(NotFoundError, PermanentError)
    assert not issubclass(NotFoundError, TransientError)
    assert RateLimitedError("slow down", retry_after=3).retry_after == 3


def test_secret_from_environment_is_hidden_in_repr(monkeypatch):
    monkeypatch.setenv("CB_TEST_TOKEN", "s3cret-value")
    secret = SecretRef(env="CB_TEST_TOKEN").resolve()
    assert secret.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(secret) and "s3cret-value" not in str(secret)


def test_secret_from_file(tmp_path):
    path = tmp_path / "token"
    path.write_text("from-file\n")
    assert SecretRef(file=path).resolve().get_secret_value() == "from-file"


def test_inline_secret_is_refused_with_a_clear_message():
    with pytest.raises(ValidationError, match="may not be written in the configuration"):
        SecretRef.model_validate("plain-token")


def test_missing_environment_variable_is_named(monkeypatch):
    monkeypatch.delenv("CB_MISSING", raising=False)
    with pytest.raises(LookupError, match="CB_MISSING"):
        SecretRef(env="CB_MISSING").resolve()
