// The OAuth flow's pages as a person uses them (see flow.mjs), with a
// screenshot of each; prints the URL the browser was sent back to, as
// JSON. Run by tests/oauth_pages.rs.
import { authorizeInBrowser, env } from "./flow.mjs";

const url = await authorizeInBrowser({
  authorizeUrl: env("AUTHORIZE_URL"),
  redirectPrefix: env("REDIRECT_PREFIX"),
  username: env("LOGIN_USERNAME"),
  password: env("LOGIN_PASSWORD"),
  decision: process.env.DECISION,
  shots: process.env.SCREENSHOTS,
});
console.log(JSON.stringify({ url }));
