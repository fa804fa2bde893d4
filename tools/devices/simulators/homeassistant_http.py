"""A Home Assistant REST API on loopback (``shared/PROTOCOLS.md`` §4).

Endpoints, all behind ``Authorization: Bearer <token>`` (401 otherwise):

- ``GET /api/`` → ``{"message": "API running."}``
- ``GET /api/states`` and ``GET /api/states/<entity_id>`` (404 for unknown ids),
  state objects shaped like core's ``State.as_dict`` (``last_reported`` and
  ``context`` included)
- ``POST /api/services/<domain>/<service>`` with ``{"entity_id": ...}``:
  ``turn_on``/``turn_off``/``toggle`` change on/off entities of that domain (or of
  any domain for ``homeassistant``) and answer with the list of states that changed;
  an unknown service is HTTP 400
- ``GET /api/history/period[/<start>]?end_time=&filter_entity_id=a,b[&minimal_response]
  [&no_attributes]`` serving a given history payload (for example the shared
  fixture): filtered by entity and by ``[start, end]`` on ``last_changed``; with
  ``minimal_response`` rows after the first of each entity carry only ``state``
  and ``last_changed``, as HA's recorder does.

Entities listed in :attr:`HomeAssistantSimulator.stuck` ignore service calls (a
read-back mismatch); ``delay_s`` delays every answer.
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

__all__ = ["HomeAssistantSimulator"]

JsonDict = dict[str, Any]

ON_OFF_DOMAINS = {"switch", "input_boolean", "light", "fan", "automation", "script", "siren"}


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class HomeAssistantSimulator:
    """Home Assistant's REST API with settable entity states."""

    def __init__(
        self,
        *,
        token: str,
        states: dict[str, str] | None = None,
        history: list[list[JsonDict]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.history: list[list[JsonDict]] = history or []
        self.stuck: set[str] = set()
        self.delay_s = 0.0
        self.requests: list[str] = []
        self.service_calls: list[tuple[str, str, JsonDict]] = []
        self._states: dict[str, JsonDict] = {}
        self._runner: web.AppRunner | None = None
        for entity_id, state in (states or {}).items():
            self.set_state(entity_id, state)

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/api/", self._api)
        app.router.add_get("/api/states", self._all_states)
        app.router.add_get("/api/states/{entity_id}", self._one_state)
        app.router.add_post("/api/services/{domain}/{service}", self._service)
        app.router.add_get("/api/history/period", self._history)
        app.router.add_get("/api/history/period/{start}", self._history)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> HomeAssistantSimulator:
        await self.start()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- state -------------------------------------------------------------------------------------

    def set_state(
        self,
        entity_id: str,
        state: str,
        attributes: JsonDict | None = None,
        *,
        when: datetime | None = None,
    ) -> JsonDict:
        """Write a state as an integration would; returns the new state object."""
        at = (when or _now()).astimezone(UTC).isoformat()
        old = self._states.get(entity_id)
        attrs = attributes if attributes is not None else (old["attributes"] if old else {})
        changed = old is None or old["state"] != state
        updated = changed or old is None or old["attributes"] != attrs
        new = {
            "entity_id": entity_id,
            "state": state,
            "attributes": attrs,
            "last_changed": at if changed or old is None else old["last_changed"],
            "last_reported": at,
            "last_updated": at if updated or old is None else old["last_updated"],
            "context": {"id": secrets.token_hex(13).upper(), "parent_id": None, "user_id": None},
        }
        self._states[entity_id] = new
        return new

    def put_raw(self, state: JsonDict) -> None:
        """Serve a state object exactly as given (e.g. a captured one with a broken time)."""
        self._states[str(state["entity_id"])] = dict(state)

    def state(self, entity_id: str) -> str:
        return str(self._states[entity_id]["state"])

    def remove(self, entity_id: str) -> None:
        self._states.pop(entity_id, None)

    # -- HTTP ---------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.raw_path}")
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Bearer" or not hmac.compare_digest(token.encode(), self.token.encode()):
            return web.Response(status=401, text="401: Unauthorized")
        response: web.StreamResponse = await handler(request)
        return response

    async def _api(self, _request: web.Request) -> web.Response:
        return web.json_response({"message": "API running."})

    async def _all_states(self, _request: web.Request) -> web.Response:
        return web.json_response(list(self._states.values()))

    async def _one_state(self, request: web.Request) -> web.Response:
        state = self._states.get(request.match_info["entity_id"])
        if state is None:
            return web.json_response({"message": "Entity not found."}, status=404)
        return web.json_response(state)

    async def _service(self, request: web.Request) -> web.Response:
        domain, service = request.match_info["domain"], request.match_info["service"]
        try:
            data = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"message": "Data should be valid JSON."}, status=400)
        if not isinstance(data, dict):
            return web.json_response({"message": "Data should be a JSON object."}, status=400)
        if service not in ("turn_on", "turn_off", "toggle") or (
            domain not in ON_OFF_DOMAINS and domain != "homeassistant"
        ):
            return web.json_response({"message": "Service not found."}, status=400)
        self.service_calls.append((domain, service, data))
        targets = data.get("entity_id", [])
        ids = [targets] if isinstance(targets, str) else list(targets)
        changed = []
        for entity_id in ids:
            old = self._states.get(entity_id)
            if old is None or entity_id in self.stuck:
                continue  # HA logs "Referenced entities ... are missing" and carries on
            if domain != "homeassistant" and entity_id.split(".", 1)[0] != domain:
                continue
            if old["state"] not in ("on", "off"):
                continue  # unavailable entities do not switch
            if service == "toggle":
                new = "off" if old["state"] == "on" else "on"
            else:
                new = "on" if service == "turn_on" else "off"
            if new != old["state"]:
                changed.append(self.set_state(entity_id, new))
        return web.json_response(changed)

    async def _history(self, request: web.Request) -> web.Response:
        start = (
            _parse(request.match_info.get("start", "")) if "start" in request.match_info else None
        )
        if "start" in request.match_info and start is None:
            return web.json_response({"message": "Invalid datetime"}, status=400)
        start = start or _now() - timedelta(days=1)
        end_text = request.query.get("end_time")
        end = _parse(end_text) if end_text else start + timedelta(days=1)
        if end is None:
            return web.json_response({"message": "Invalid end_time"}, status=400)
        wanted = request.query.get("filter_entity_id", "")
        if not wanted:
            return web.json_response({"message": "filter_entity_id is missing"}, status=400)
        ids = {x.strip().lower() for x in wanted.split(",") if x.strip()}
        minimal = "minimal_response" in request.query
        no_attributes = "no_attributes" in request.query
        out: list[list[JsonDict]] = []
        for series in self.history:
            rows = [
                r
                for r in series
                if r.get("entity_id", series[0].get("entity_id")) in ids
                and (when := _parse(str(r.get("last_changed", "")))) is not None
                and start <= when <= end
            ]
            if not rows:
                continue
            shaped = []
            for i, row in enumerate(rows):
                if minimal and i > 0:
                    shaped.append({"state": row["state"], "last_changed": row["last_changed"]})
                    continue
                full = copy.deepcopy(row)
                if no_attributes:
                    full["attributes"] = {}
                shaped.append(full)
            out.append(shaped)
        return web.json_response(out)
