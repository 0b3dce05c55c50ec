// Loaded with `node --import` before the conformance suite, which has no option of its
// own to authenticate: every HTTP request the process makes gets the headers of
// $AIAPI_CONFORMANCE_HEADERS (a JSON object), unless the scenario set that header itself.
// Three doors are patched, since the suite's scenarios use all of them: the global
// fetch() (the SDK's transports), node:http's request() and the suite's own undici
// (the DNS-rebinding and header-validation probes), found through
// $AIAPI_CONFORMANCE_SUITE_DIR.
import http from "node:http";
import { createRequire } from "node:module";

const added = Object.entries(JSON.parse(process.env.AIAPI_CONFORMANCE_HEADERS || "{}"));

function missing(has) {
  return added.filter(([name]) => !has(name.toLowerCase()));
}

function plusHeaders(headers) {
  if (Array.isArray(headers)) {
    const names = new Set(headers.filter((_, i) => i % 2 === 0).map((n) => String(n).toLowerCase()));
    return [...headers, ...missing((n) => names.has(n)).flat()];
  }
  const out = { ...(headers || {}) };
  const names = new Set(Object.keys(out).map((n) => n.toLowerCase()));
  for (const [name, value] of missing((n) => names.has(n))) out[name] = value;
  return out;
}

const fetchBefore = globalThis.fetch;
globalThis.fetch = (input, init = {}) => {
  const headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
  for (const [name, value] of missing((n) => headers.has(n))) headers.set(name, value);
  return fetchBefore(input, { ...init, headers });
};

const requestBefore = http.request;
http.request = function request(options, ...rest) {
  if (options && typeof options === "object" && !(options instanceof URL)) {
    options = { ...options, headers: plusHeaders(options.headers) };
  }
  return requestBefore.call(this, options, ...rest);
};

const suiteDir = process.env.AIAPI_CONFORMANCE_SUITE_DIR;
if (suiteDir) {
  const undici = createRequire(`${suiteDir}/package.json`)("undici");
  const undiciBefore = undici.request;
  undici.request = function request(url, options = {}, ...rest) {
    return undiciBefore.call(this, url, { ...options, headers: plusHeaders(options.headers) }, ...rest);
  };
}
