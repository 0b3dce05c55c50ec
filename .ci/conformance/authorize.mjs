// The person's part of the authorization flow for the conformance suite's
// `authorization` command, which prints an authorization URL and waits for
// a browser to come back to its callback: sign in on the login page,
// approve on the consent page, and follow the redirect to the callback.
// Plain fetch with a cookie jar, so `make conformance` needs no browser
// (the pages themselves are tested in Chromium by the test suite).
// Usage: node authorize.mjs AUTHORIZE_URL USERNAME PASSWORD
const [authorizeUrl, username, password] = process.argv.slice(2);
const jar = new Map();

/** One request without following redirects, keeping cookies. */
const visit = async (url, form) => {
  const res = await fetch(url, {
    method: form ? "POST" : "GET",
    redirect: "manual",
    headers: {
      cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; "),
      ...(form && { "content-type": "application/x-www-form-urlencoded" }),
    },
    body: form && new URLSearchParams(form),
  });
  for (const set of res.headers.getSetCookie()) {
    const [pair] = set.split(";");
    const at = pair.indexOf("=");
    jar.set(pair.slice(0, at), pair.slice(at + 1));
  }
  const location = res.headers.get("location");
  return { status: res.status, location: location && new URL(location, url).href, body: await res.text() };
};

const decode = (text) => text.replace(/&(#x[0-9a-f]+|#[0-9]+|amp|quot|lt|gt|apos);/gi, (_, ref) => {
  const named = { amp: "&", quot: '"', lt: "<", gt: ">", apos: "'" }[ref.toLowerCase()];
  if (named) return named;
  return String.fromCodePoint(ref[1].toLowerCase() === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10));
});
const hidden = (page, name) => {
  const found = page.body.match(new RegExp(`name="${name}" value="([^"]*)"`));
  if (!found) throw new Error(`no ${name} field on the page (${page.status}): ${page.body.slice(0, 400)}`);
  return decode(found[1]);
};

const login = await visit(authorizeUrl);
const signedIn = await visit(new URL("/oauth/login", authorizeUrl).href, {
  csrf: hidden(login, "csrf"), request: hidden(login, "request"), username, password,
});
if (signedIn.status !== 303) throw new Error(`sign-in answered ${signedIn.status}: ${signedIn.body.slice(0, 400)}`);
const consent = await visit(signedIn.location);
const approved = await visit(new URL("/oauth/consent", authorizeUrl).href, {
  csrf: hidden(consent, "csrf"), request: hidden(consent, "request"), decision: "approve",
});
if (!approved.location) throw new Error(`consent answered ${approved.status}: ${approved.body.slice(0, 400)}`);
// The suite starts its callback server after printing the URL: a refused
// connection there means "not yet".
let callback;
for (let attempt = 0; !callback; attempt++) {
  try {
    callback = await fetch(approved.location);
  } catch (e) {
    if (attempt >= 50) throw e;
    await new Promise((done) => setTimeout(done, 100));
  }
}
if (!callback.ok) throw new Error(`the callback answered ${callback.status}`);
console.error(`authorize: approved; the callback answered ${callback.status}`);
