// The official TypeScript SDK's client connects to /mcp through the OAuth
// flow as an app would: discovery from the 401, dynamic registration (or,
// given DOCUMENT_CERT and DOCUMENT_KEY, a client metadata document it
// serves over https itself), PKCE, the person's part in a real browser (flow.mjs), the code
// exchange, tools/list and tools/call, a refresh when its access token is
// refused, and refusal once the grant is revoked. Prints what happened as
// JSON. Run by tests/oauth_sdk.rs.
import { readFileSync } from "node:fs";
import { createServer } from "node:https";
import { authorizeInBrowser, env, requireInstalled } from "./flow.mjs";

const { Client } = requireInstalled("@modelcontextprotocol/sdk/client/index.js");
const { StreamableHTTPClientTransport } = requireInstalled("@modelcontextprotocol/sdk/client/streamableHttp.js");
const { UnauthorizedError } = requireInstalled("@modelcontextprotocol/sdk/client/auth.js");

const mcpUrl = new URL(env("MCP_URL"));
const redirect = env("REDIRECT_URL");

/** Serves this client's metadata document over https; resolves to its URL. */
const serveDocument = (cert, key) => new Promise((resolve) => {
  const server = createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (req, res) => {
    res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60" });
    res.end(JSON.stringify({
      client_id: documentUrl, client_name: "TypeScript SDK test (document)", redirect_uris: [redirect],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
      token_endpoint_auth_method: "none",
    }));
  });
  let documentUrl;
  server.listen(0, "127.0.0.1", () => {
    documentUrl = `https://localhost:${server.address().port}/oauth/client.json`;
    resolve(documentUrl);
  });
  server.unref();
});
const documentUrl = process.env.DOCUMENT_CERT
  ? await serveDocument(process.env.DOCUMENT_CERT, env("DOCUMENT_KEY"))
  : undefined;

/** Keeps what the SDK asks it to keep, in memory. */
class Provider {
  constructor() {
    this.authorizations = [];
  }
  get redirectUrl() { return redirect; }
  get clientMetadataUrl() { return documentUrl; }
  get clientMetadata() {
    return {
      client_name: "TypeScript SDK test", redirect_uris: [redirect],
      grant_types: ["authorization_code", "refresh_token"], response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  clientInformation() { return this.client; }
  saveClientInformation(client) { this.client = client; }
  tokens() { return this.saved; }
  saveTokens(tokens) { this.saved = tokens; }
  redirectToAuthorization(url) { this.authorizations.push(url.toString()); }
  saveCodeVerifier(verifier) { this.verifier = verifier; }
  codeVerifier() { return this.verifier; }
  invalidateCredentials(scope) {
    if (scope === "all" || scope === "tokens") this.saved = undefined;
    if (scope === "all" || scope === "client") this.client = undefined;
    if (scope === "all" || scope === "verifier") this.verifier = undefined;
  }
}

const provider = new Provider();
const connect = async () => {
  const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
  const client = new Client({ name: "sdk-oauth-test", version: "1.0.0" });
  await client.connect(transport);
  return { client, transport };
};
const refusedAsUnauthorized = async (attempt) => {
  try {
    await attempt();
    return false;
  } catch (e) {
    if (e instanceof UnauthorizedError) return true;
    throw e;
  }
};

// First contact: the SDK discovers, registers and asks for authorization.
const transport = new StreamableHTTPClientTransport(mcpUrl, { authProvider: provider });
if (!(await refusedAsUnauthorized(() => new Client({ name: "sdk-oauth-test", version: "1.0.0" }).connect(transport)))) {
  throw new Error("connected without authorization");
}
const authorizeUrl = provider.authorizations.at(-1);
const back = new URL(await authorizeInBrowser({
  authorizeUrl, redirectPrefix: redirect, username: env("LOGIN_USERNAME"),
  password: env("LOGIN_PASSWORD"), decision: "allow",
}));
await transport.finishAuth(back.searchParams.get("code"));

const { client } = await connect();
const tools = (await client.listTools()).tools.map((t) => t.name);
const called = await client.callTool({ name: "search_items", arguments: { query: "" } });

// An access token the server refuses: the SDK refreshes and carries on.
const firstRefresh = provider.saved.refresh_token;
provider.saved = { ...provider.saved, access_token: "not-a-valid-token" };
const again = await connect();
const afterRefresh = (await again.client.listTools()).tools.length;
const refreshed = provider.saved.refresh_token !== firstRefresh && provider.saved.access_token !== "not-a-valid-token";
const scope = provider.saved.scope;

// Revoked: the SDK's tokens are refused, and it asks to authorize again.
const revoke = await fetch(new URL("/oauth/revoke", mcpUrl), {
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams({ token: provider.saved.refresh_token, client_id: provider.client.client_id }),
});
const asked = provider.authorizations.length;
const refusedAfterRevoke = await refusedAsUnauthorized(() => connect());

await client.close();
await again.client.close();
console.log(JSON.stringify({
  authorizeUrl, clientId: provider.client.client_id, tools, calledIsError: called.isError === true,
  afterRefresh, refreshed, revokeStatus: revoke.status, refusedAfterRevoke,
  askedAgain: provider.authorizations.length > asked, scope,
}));
// An SSE stream the server keeps open for a session must not keep the
// script waiting.
process.exit(0);
