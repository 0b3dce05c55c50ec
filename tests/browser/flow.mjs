// The person's part of the OAuth flow, in headless Chromium: sign in on
// the login page with the keyboard (labels, autofocus, Tab, Enter), then
// answer the consent page by the button's accessible name. Shared by the
// browser tests; returns the URL the browser was sent back to.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";

/** The value of environment variable `name`, which must be set. */
export const env = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
};

/** `require` for the packages `make browser-setup` installed. */
export const requireInstalled = createRequire(`${env("AIAPI_BROWSER_MODULES")}/`);

const FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run",
];

/**
 * Signs in at `authorizeUrl` and answers `decision` ("allow" or "deny");
 * screenshots go to `shots` when given. Resolves to the URL, starting with
 * `redirectPrefix`, that the browser was sent back to.
 */
export async function authorizeInBrowser({ authorizeUrl, redirectPrefix, username, password, decision, shots }) {
  const { chromium } = requireInstalled("playwright-core");
  if (shots) mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: FLAGS });
  const errors = [];
  try {
    const page = await browser.newPage({ viewport: { width: 720, height: 760 } });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

    await page.goto(authorizeUrl);
    if ((await page.title()) !== "Sign in · aiapi") throw new Error(`login page title: ${await page.title()}`);
    await page.getByLabel("Username").waitFor();
    await page.getByLabel("Password").waitFor();
    if (shots) await page.screenshot({ path: `${shots}/oauth-login.png`, fullPage: true });

    // The username field has the focus: type, Tab to the password, Enter.
    await page.keyboard.type(username);
    await page.keyboard.press("Tab");
    await page.keyboard.type(password);
    await Promise.all([page.waitForURL(/\/oauth\/authorize/), page.keyboard.press("Enter")]);
    await page.getByRole("heading", { name: /Allow .* to use your account\?/ }).waitFor();
    if (shots) await page.screenshot({ path: `${shots}/oauth-consent.png`, fullPage: true });

    const sentBack = page.waitForRequest((r) => r.url().startsWith(redirectPrefix));
    await page.getByRole("button", { name: decision === "deny" ? "Deny" : "Allow", exact: true }).click();
    const url = (await sentBack).url();
    if (errors.length) throw new Error(`page errors: ${errors.join("; ")}`);
    return url;
  } finally {
    await browser.close();
  }
}
