"""The one adapter to AI providers: chat and images through the `openai` package (any OpenAI-compatible base_url),
Runware images through its HTTP task API; our own retries, backoff and per-provider limits.

The openai client is built with max_retries=0: retries are ours so that every attempt passes the provider's
concurrency and rate limits, Retry-After is honoured, and the give-up message says what happened.
"""
from __future__ import annotations

import base64
import binascii
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import httpx
import openai

from core.ai import download
from core.ai.errors import AIProviderError
from core.ai.limits import limiter_for
from core.ai.providers import ProviderConnection
from core.common import retry, vault
from core.common.retry import RETRY_STATUSES, Fault, RetryPolicy, retry_after_seconds

__all__ = ["RETRY_STATUSES", "ChatResult", "ConnectionCheck", "GeneratedImage", "RetryPolicy", "asks_for_b64",
           "chat", "image", "is_runware", "retry_after_seconds", "test_connection", "with_retries"]

T = TypeVar("T")
DOWNLOAD_TIMEOUT_S = 60.0  # at most, for fetching an image a provider answered with as a link


@dataclass(frozen=True)
class ChatResult:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str
    model: str
    attempts: int
    usage_reported: bool = True  # False: the server sent no usage; the engine estimates tokens


@dataclass(frozen=True)
class GeneratedImage:
    """The file's bytes (asked for as base64, or fetched from the provider's link at once); only when that fetch
    failed, no bytes, the link, and why."""

    url: str | None
    data: bytes | None
    attempts: int
    download_error: str = ""


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    models: list[str] = field(default_factory=list)


class _HTTPFault(Exception):
    """A non-2xx answer from a plain HTTP provider (Runware)."""

    def __init__(self, status: int, headers: httpx.Headers, message: str):
        super().__init__(message)
        self.status, self.headers, self.message = status, headers, message


def _name(conn: ProviderConnection) -> str:
    return conn.config.get("display_name") or conn.provider_id


def _scrub(text: str, conn: ProviderConnection) -> str:
    """A provider's message, short, and never with our key in it."""
    text = " ".join(str(text).split())[:300]
    return text.replace(conn.api_key, vault.mask(conn.api_key)) if conn.api_key else text


def _status_message(status: int, message: str, conn: ProviderConnection) -> str:
    name = _name(conn)
    if status in (401, 403):
        return (f"The AI provider {name} refused the API key (HTTP {status}). Ask the platform team (the team "
                "running this dashboard) to check the key on the “AI providers & models” screen.")
    if status == 404:
        return (f"The AI provider {name} does not know this model or endpoint (HTTP 404): {message}. Check the "
                "model name and the provider's endpoint.")
    hint = ""
    if status == 400 and ("max_completion_tokens" in message or "'temperature'" in message):
        hint = (' This model takes other parameters: ask the platform team to set its capabilities on the “AI '
                'providers & models” screen, e.g. {"max_tokens_param": "max_completion_tokens", "temperature": false}.')
    return f"The AI provider {name} refused the request (HTTP {status}): {message}{hint}"


def _classify(exc: Exception, conn: ProviderConnection) -> Fault:
    """A retryable fault, or raise the AIProviderError of a fault that retrying cannot fix."""
    if isinstance(exc, openai.APITimeoutError) or isinstance(exc, httpx.TimeoutException):
        return Fault(kind="timeout")
    if isinstance(exc, openai.APIConnectionError):
        return Fault(kind="connection", detail=_scrub(str(exc.__cause__ or exc), conn))
    if isinstance(exc, httpx.TransportError):
        return Fault(kind="connection", detail=_scrub(str(exc), conn))
    if isinstance(exc, (openai.APIStatusError, _HTTPFault)):
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else exc.status
        headers = exc.response.headers if isinstance(exc, openai.APIStatusError) else exc.headers
        detail = _scrub(exc.message, conn)
        if retry.is_retryable_status(status):
            kind = "rate_limited" if status == 429 else "server_error"
            return Fault(retry_after=retry_after_seconds(headers), kind=kind, status=status, detail=detail)
        raise AIProviderError(_status_message(status, detail, conn), kind="auth" if status in (401, 403)
                              else "refused", status=status, attempts=1) from exc
    if isinstance(exc, ValueError):  # a 2xx answer whose body is not JSON: a broken proxy or server
        return Fault(kind="bad_response", detail=_scrub(str(exc), conn))
    if isinstance(exc, openai.OpenAIError):  # anything else the SDK raises: not worth retrying
        raise AIProviderError(f"The AI provider {_name(conn)} failed: {_scrub(str(exc), conn)}", kind="refused",
                              attempts=1) from exc
    raise exc


def _give_up(fault: Fault, attempts: int, elapsed: float, conn: ProviderConnection, policy: RetryPolicy,
             *, early: bool = False) -> AIProviderError:
    """The message of a fault we stopped retrying; `early` when the provider asked for a pause beyond our patience."""
    name, tried = _name(conn), f"tried {attempts} time{'s' if attempts != 1 else ''} over {elapsed:.0f} s"
    if early:
        text = (f"The AI provider {name} is rate-limiting us and asks us to wait {fault.retry_after:.0f} s; "
                f"{tried}. Try again later.")
    elif fault.kind == "rate_limited":
        text = (f"The AI provider {name} is rate-limiting us; {tried}. Try again in a few minutes, or lower the "
                "provider's requests per minute.")
    elif fault.kind == "server_error":
        text = f"The AI provider {name} keeps failing (HTTP {fault.status}: {fault.detail}); {tried}. Try again later."
    elif fault.kind == "timeout":
        text = (f"The AI provider {name} did not answer within {policy.timeout_s:g} s; {tried}. Try again later, "
                "or raise the provider's timeout.")
    elif fault.kind == "connection":
        text = (f"Could not reach the AI provider {name} at {conn.base_url or 'its default address'} "
                f"({fault.detail}); {tried}. Ask the platform team to check the endpoint on the “AI providers & "
                "models” screen.")
    else:
        text = f"The AI provider {name} sent an unreadable answer ({fault.detail}); {tried}. Try again later."
    return AIProviderError(text, kind=fault.kind, status=fault.status, attempts=attempts)


def with_retries(conn: ProviderConnection, policy: RetryPolicy, attempt: Callable[[], T],
                 sleep: Callable[[float], None] | None = None) -> tuple[T, int]:
    """Run one request with our retries inside the provider's limits; returns (result, attempts used)."""
    limiter = limiter_for(conn.provider_id, conn.config, conn.limits_engine, lease_s=policy.timeout_s)

    def in_slot() -> T:
        with limiter.slot():
            return attempt()

    return retry.run(in_slot, policy=policy, classify=lambda exc: _classify(exc, conn), sleep=sleep,
                     give_up=lambda fault, attempts, elapsed, reason: _give_up(
                         fault, attempts, elapsed, conn, policy, early=reason == "wait_too_long"))


_clients: dict[tuple[str, str, str | None, float], openai.OpenAI] = {}
_clients_lock = threading.Lock()


def _parsed(response: T) -> T:
    """The SDK's answer, or a ValueError (retried as an unreadable answer) when the body was not JSON: for a
    non-JSON content type (an HTML error page from a proxy, with status 200) the SDK hands back the raw text."""
    if isinstance(response, str | bytes):
        raise ValueError(f"the answer is not JSON: {str(response[:80])!r}")
    return response


def _openai(conn: ProviderConnection, policy: RetryPolicy) -> openai.OpenAI:
    """A shared client per provider, key, endpoint and timeout: thread-safe, keeps its connections open, and
    costs tens of milliseconds to build, so it is built once (a changed key or endpoint builds a new one)."""
    key = (conn.provider_id, conn.api_key, conn.base_url, policy.timeout_s)
    with _clients_lock:
        api = _clients.get(key)
        if api is None:
            for old in [k for k in _clients if k[0] == conn.provider_id]:
                del _clients[old]  # dropped, not closed: a call in flight may still use it
            # Keyless local servers (Ollama) still need a non-empty key for the client.
            api = _clients[key] = openai.OpenAI(api_key=conn.api_key or "no-key", base_url=conn.base_url,
                                                max_retries=0, timeout=policy.timeout_s)
        return api


def chat(conn: ProviderConnection, *, model: str, messages: list[dict], max_tokens: int,
         temperature: float | None = None, json_mode: bool = True, max_tokens_param: str = "max_tokens",
         policy: RetryPolicy | None = None) -> ChatResult:
    """One chat completion (JSON mode by default), retried on 429/5xx/timeouts; text, usage, finish reason."""
    policy = policy or RetryPolicy.from_config(conn.config)
    kwargs: dict = {"model": model, "messages": messages, max_tokens_param: max_tokens}
    if temperature is not None:
        kwargs["temperature"] = temperature
    if json_mode and conn.config.get("json_mode", True):
        kwargs["response_format"] = {"type": "json_object"}
    api = _openai(conn, policy)
    response, attempts = with_retries(conn, policy, lambda: _parsed(api.chat.completions.create(**kwargs)))
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise AIProviderError(f"The AI provider {_name(conn)} answered without a message.", kind="bad_response",
                              attempts=attempts)
    choice, usage = choices[0], getattr(response, "usage", None)
    text = (getattr(choice.message, "content", None) or "") if getattr(choice, "message", None) else ""
    return ChatResult(text=text, prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
                      completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
                      finish_reason=str(getattr(choice, "finish_reason", "") or ""),
                      model=str(getattr(response, "model", "") or model), attempts=attempts,
                      usage_reported=usage is not None)


def is_runware(conn: ProviderConnection) -> bool:
    """Runware speaks its own task API, not OpenAI's."""
    return conn.provider_id == "runware" or conn.config.get("api") == "runware"


def asks_for_b64(model: str, b64_json: bool | None = None) -> bool:
    """Whether to send response_format="b64_json": the model's `b64_json` capability when set, else only for DALL·E
    (its default answer is a link that expires after an hour; gpt-image-* always answer base64 and refuse the
    parameter, and many compatible servers do not know it)."""
    return b64_json if b64_json is not None else model.lower().startswith("dall-e")


def image(conn: ProviderConnection, *, model: str, prompt: str, size: str = "1024x1024",
          quality: str | None = None, negative_prompt: str = "", b64_json: bool | None = None,
          policy: RetryPolicy | None = None) -> GeneratedImage:
    """One generated image as the file's bytes, retried like chat; an answer with a link is fetched at once."""
    policy = policy or RetryPolicy.from_config(conn.config)
    if is_runware(conn):
        return _durable(_runware_image(conn, model=model, prompt=prompt, size=size,
                                       negative_prompt=negative_prompt, policy=policy), policy)
    kwargs: dict = {"model": model, "prompt": prompt, "n": 1, "size": size}
    if quality:
        kwargs["quality"] = quality
    if asks_for_b64(model, b64_json):
        kwargs["response_format"] = "b64_json"
    api = _openai(conn, policy)
    response, attempts = with_retries(conn, policy, lambda: _parsed(api.images.generate(**kwargs)))
    items = getattr(response, "data", None) or []
    if not items:
        raise AIProviderError(f"The AI provider {_name(conn)} returned no image.", kind="bad_response",
                              attempts=attempts)
    return _durable(_image_of(conn, getattr(items[0], "url", None), getattr(items[0], "b64_json", None), attempts),
                    policy)


def _durable(got: GeneratedImage, policy: RetryPolicy) -> GeneratedImage:
    """An image answered as a link, with its bytes fetched now; when that fails, the link and the reason."""
    if got.data is not None or not got.url:
        return got
    try:
        return replace(got, data=download.fetch_image(got.url, timeout_s=min(policy.timeout_s, DOWNLOAD_TIMEOUT_S)))
    except download.DownloadFailed as exc:
        return replace(got, download_error=f"The image could not be downloaded from {download.host_of(got.url)} "
                                           f"({exc}); only the provider's link is kept, and it may expire.")


def _image_of(conn: ProviderConnection, url: str | None, b64: str | None, attempts: int) -> GeneratedImage:
    if b64:
        try:
            return GeneratedImage(None, base64.b64decode(b64, validate=True), attempts)
        except (binascii.Error, ValueError) as exc:
            raise AIProviderError(f"The AI provider {_name(conn)} sent an image that is not valid base64.",
                                  kind="bad_response", attempts=attempts) from exc
    if url and url.startswith(("https://", "http://")):
        return GeneratedImage(url, None, attempts)
    raise AIProviderError(f"The AI provider {_name(conn)} returned neither an image URL nor image data.",
                          kind="bad_response", attempts=attempts)


def _runware_post(conn: ProviderConnection, policy: RetryPolicy, tasks: list[dict]) -> tuple[list[dict], int]:
    if not conn.base_url:
        raise AIProviderError(f"Provider {_name(conn)} has no endpoint. Ask the platform team (the team running "
                              "this dashboard) to set it on the “AI providers & models” screen.",
                              kind="refused")

    def attempt() -> list[dict]:
        with httpx.Client(timeout=policy.timeout_s) as http:
            r = http.post(conn.base_url or "", json=tasks, headers={"Authorization": f"Bearer {conn.api_key}"})
        try:
            body = r.json() if r.content else {}
        except ValueError:
            if r.status_code < 400:
                raise  # a 2xx answer that is not JSON: retried as an unreadable answer
            body = {}
        if r.status_code >= 400 or (isinstance(body, dict) and body.get("errors")):
            errors = body.get("errors") if isinstance(body, dict) else None
            message = "; ".join(str(e.get("message", e)) for e in errors or [] if isinstance(e, dict))
            raise _HTTPFault(r.status_code if r.status_code >= 400 else 400, r.headers, message or r.reason_phrase)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise ValueError("no data list in the answer")
        return data

    return with_retries(conn, policy, attempt)


def _runware_image(conn: ProviderConnection, *, model: str, prompt: str, size: str, negative_prompt: str,
                   policy: RetryPolicy) -> GeneratedImage:
    width, _, height = size.partition("x")
    task = {"taskType": "imageInference", "taskUUID": str(uuid.uuid4()), "positivePrompt": prompt, "model": model,
            "width": int(width or 1024), "height": int(height or 1024), "numberResults": 1, "outputType": "URL"}
    if len(negative_prompt.strip()) >= 2:
        task["negativePrompt"] = negative_prompt.strip()
    data, attempts = _runware_post(conn, policy, [task])
    found = next((d for d in data if isinstance(d, dict) and d.get("taskUUID") == task["taskUUID"]), None)
    return _image_of(conn, (found or {}).get("imageURL"), (found or {}).get("imageBase64Data"), attempts)


def test_connection(conn: ProviderConnection, *, model: str | None = None) -> ConnectionCheck:
    """Whether the provider answers with this key: lists models, or (for servers without /models) makes a
    1-token call. Never raises for provider faults: the message says what is wrong."""
    policy = RetryPolicy.from_config({**conn.config, "max_attempts": 1,
                                      "timeout_s": min(RetryPolicy.from_config(conn.config).timeout_s, 20)})
    where = f"{_name(conn)} at {conn.base_url or 'its default address'}"
    try:
        if is_runware(conn):
            _runware_post(conn, policy, [{"taskType": "authentication", "apiKey": conn.api_key}])
            return ConnectionCheck(True, f"Connected to {where}.")
        api = _openai(conn, policy)
        try:
            page, _ = with_retries(conn, policy, lambda: api.models.list())
            names = sorted(m.id for m in page.data)
            return ConnectionCheck(True, f"Connected to {where}: {len(names)} model(s) available.", names)
        except AIProviderError as exc:
            if exc.status != 404 or not model:
                raise
        chat(conn, model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=1, json_mode=False,
             policy=policy)
        return ConnectionCheck(True, f"Connected to {where}: model {model} answered.", [model])
    except AIProviderError as exc:
        return ConnectionCheck(False, str(exc))
