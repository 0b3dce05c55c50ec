// Drives the OAuth flow's pages in headless Chromium as a person would,
// with the keyboard: the login form (labels, autofocus, Tab, Enter), then
// the consent page's Allow or Deny button found by its accessible name.
// Writes a screenshot of each page and prints the URL the browser was sent
// back to, as JSON. Run by tests/oauth_pages.rs.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";

const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};
const require = createRequire(`${env("AIAPI_BROWSER_MODULES")}/`);
const { chromium } = require("playwright-core");

const shots = env("SCREENSHOTS");
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
  ],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 720, height: 760 } });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

  await page.goto(env("AUTHORIZE_URL"));
  if ((await page.title()) !== "Sign in · aiapi") throw new Error(`login page title: ${await page.title()}`);
  await page.getByLabel("Username").waitFor();
  await page.getByLabel("Password").waitFor();
  await page.screenshot({ path: `${shots}/oauth-login.png`, fullPage: true });

  // The username field has the focus: type, Tab to the password, Enter.
  await page.keyboard.type(env("LOGIN_USERNAME"));
  await page.keyboard.press("Tab");
  await page.keyboard.type(env("LOGIN_PASSWORD"));
  await Promise.all([page.waitForURL(/\/oauth\/authorize/), page.keyboard.press("Enter")]);
  await page.getByRole("heading", { name: /Allow .* to use your account\?/ }).waitFor();
  await page.screenshot({ path: `${shots}/oauth-consent.png`, fullPage: true });

  const prefix = env("REDIRECT_PREFIX");
  const sentBack = page.waitForRequest((r) => r.url().startsWith(prefix));
  const decision = process.env.DECISION === "deny" ? "Deny" : "Allow";
  await page.getByRole("button", { name: decision, exact: true }).click();
  const url = (await sentBack).url();
  if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
  console.log(JSON.stringify({ url }));
} finally {
  await browser.close();
}
