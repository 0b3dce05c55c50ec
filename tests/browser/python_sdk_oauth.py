"""The official Python SDK's client (`mcp`, its OAuthClientProvider)
connects to /mcp through the OAuth flow as an app would: discovery from
the 401, dynamic registration (or, given DOCUMENT_CERT and DOCUMENT_KEY, a
client metadata document it serves over https itself), PKCE, the person's part in a real browser
(oauth_pages.mjs), the code exchange, tools/list and tools/call, a refresh
when its access token has expired, and refusal once the grant is revoked.
Prints what happened as JSON. Run by tests/oauth_sdk.rs."""

import asyncio
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

from mcp import ClientSession
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

MCP_URL = os.environ["MCP_URL"]
REDIRECT = os.environ["REDIRECT_URL"]
HERE = os.path.dirname(os.path.abspath(__file__))


def serve_document(cert: str, key: str) -> str:
    """Serves this client's metadata document over https; returns its URL."""
    url = ""

    class Document(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(
                {
                    "client_id": url,
                    "client_name": "Python SDK test (document)",
                    "redirect_uris": [REDIRECT],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "token_endpoint_auth_method": "none",
                }
            ).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("cache-control", "max-age=60")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Document)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    url = f"https://localhost:{server.server_address[1]}/oauth/client.json"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return url


DOCUMENT_URL = serve_document(os.environ["DOCUMENT_CERT"], os.environ["DOCUMENT_KEY"]) if "DOCUMENT_CERT" in os.environ else None


class Memory:
    """Keeps what the SDK asks it to keep, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


storage = Memory()
authorizations: list[str] = []


async def redirect_handler(url: str) -> None:
    authorizations.append(url)


async def callback_handler() -> AuthorizationCodeResult:
    """The person's part, in Chromium; refuses to sign in a second time."""
    if len(authorizations) > 1:
        raise RuntimeError("asked to authorize again")
    env = dict(os.environ, AUTHORIZE_URL=authorizations[-1], REDIRECT_PREFIX=REDIRECT, DECISION="allow")
    out = subprocess.run(["node", os.path.join(HERE, "oauth_pages.mjs")], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"the browser part failed: {out.stderr}")
    back = urllib.parse.urlparse(json.loads(out.stdout)["url"])
    query = dict(urllib.parse.parse_qsl(back.query))
    return AuthorizationCodeResult(code=query["code"], state=query.get("state"), iss=query.get("iss"))


def make_provider() -> OAuthClientProvider:
    """A provider over the stored credentials, as an app has after a restart."""
    return OAuthClientProvider(
        server_url=MCP_URL,
        client_metadata=OAuthClientMetadata(
            client_name="Python SDK test",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=redirect_handler,
        callback_handler=callback_handler,
        client_metadata_url=DOCUMENT_URL,
    )


async def session_tools(provider: OAuthClientProvider) -> tuple[list[str], bool]:
    async with create_mcp_http_client(auth=provider) as http:
        async with streamable_http_client(MCP_URL, http_client=http) as streams:
            read, write = streams[0], streams[1]
            async with ClientSession(read, write) as session:
                await session.initialize()
                tools = [t.name for t in (await session.list_tools()).tools]
                called = await session.call_tool("search_items", {"query": ""})
                return tools, called.is_error


async def main() -> None:
    provider = make_provider()
    tools, call_failed = await session_tools(provider)
    first = storage.tokens
    assert first is not None and first.refresh_token
    # The Python SDK refreshes a token it knows has expired: say it has.
    provider.context.token_expiry_time = 1.0
    after_refresh, _ = await session_tools(provider)
    refreshed = (
        storage.tokens.access_token != first.access_token and storage.tokens.refresh_token != first.refresh_token
    )

    revoke = urllib.request.Request(
        urllib.parse.urljoin(MCP_URL, "/oauth/revoke"),
        data=urllib.parse.urlencode(
            {"token": storage.tokens.refresh_token, "client_id": storage.client.client_id}
        ).encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    revoke_status = urllib.request.urlopen(revoke).status
    refusal = None
    try:
        await session_tools(make_provider())
    except Exception as e:  # the SDK raises whatever its transport met
        while isinstance(e, BaseExceptionGroup) and e.exceptions:
            e = e.exceptions[0]
        refusal = f"{type(e).__name__}: {e}"
    print(
        json.dumps(
            {
                "authorizeUrl": authorizations[0],
                "clientId": storage.client.client_id,
                "tools": tools,
                "calledIsError": call_failed,
                "afterRefresh": len(after_refresh),
                "refreshed": refreshed,
                "revokeStatus": revoke_status,
                "refusedAfterRevoke": refusal is not None,
                "refusal": refusal,
                "askedAgain": len(authorizations) > 1,
            }
        )
    )


asyncio.run(main())
sys.exit(0)
