// Drives GraphiQL in Chromium (puppeteer-core, the system's browser) as a person would:
// opens <base>/graphql, its side panels and dialogs, runs the login mutation, puts the token in the headers editor and runs
// a subscription, until the announcement titled <title> arrives in the result pane. The browser
// reaches nothing but <base>: its resolver knows no other host, and any request elsewhere is
// blocked and reported.
//
// Usage: node graphiql.mjs <chromium> <http base url> <email> <password> <title> <artifacts dir>
// Prints JSON lines on stdout: {"event": "loaded" | "signedIn" | "subscribing" | "received" |
// "done" | "failed", ...}; "done" lists every console error, page error, failed or refused
// request, HTTP error status and WebSocket seen, and what the page left in localStorage. Screenshots go to <artifacts dir>.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const [chromium, base, email, password, title, artifacts] = process.argv.slice(2);
const STEP_MS = 120_000; // per step: generous, for a machine busy with other tests
const origin = new URL(base).origin;
const host = new URL(base).hostname;

function print(event, fields = {}) {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

const seen = {
  consoleErrors: [],
  pageErrors: [],
  refused: [], // requests to anywhere but this server
  failed: [],
  httpErrors: [],
  sockets: [],
};

mkdirSync(artifacts, { recursive: true });
const browser = await puppeteer.launch({
  executablePath: chromium,
  headless: true, // Chromium's new headless mode
  args: [
    // Root (CI) cannot use Chromium's user-namespace sandbox.
    ...(process.getuid && process.getuid() === 0 ? ["--no-sandbox"] : []),
    // No internet: every host name but the server's fails to resolve.
    `--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE ${host}`,
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
    "--no-first-run",
  ],
});

async function editor(selector) {
  // The CodeMirror 5 instance of the visible editor matching `selector`.
  await page.waitForFunction(
    (s) => [...document.querySelectorAll(s)].some((e) => e.offsetParent !== null),
    { timeout: STEP_MS },
    selector,
  );
  return selector;
}

async function setEditor(selector, text) {
  await editor(selector);
  await page.evaluate(
    (s, value) => {
      const node = [...document.querySelectorAll(s)].find((e) => e.offsetParent !== null);
      node.CodeMirror.setValue(value);
    },
    selector,
    text,
  );
}

const QUERY_EDITOR = ".graphiql-query-editor .CodeMirror";
const HEADERS_EDITOR = '.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror';

async function run(text, operationName) {
  // Writes `text` in the query editor and runs it, once GraphiQL has read the operation's
  // name from it (it does so shortly after each edit; running earlier sends the old name).
  await setEditor(QUERY_EDITOR, text);
  await page.waitForFunction(
    (s, name) => document.querySelector(s).CodeMirror.operationName === name,
    { timeout: STEP_MS, polling: 50 },
    QUERY_EDITOR,
    operationName,
  );
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => done())));
  await page.click(".graphiql-execute-button");
}

async function response(includes) {
  // The result pane's text once it contains `includes`.
  const handle = await page.waitForFunction(
    (wanted) => {
      const node = document.querySelector(".graphiql-response .CodeMirror");
      const text = node && node.CodeMirror.getValue();
      return text && text.includes(wanted) ? text : null;
    },
    { timeout: STEP_MS, polling: 100 },
    includes,
  );
  return handle.jsonValue();
}

async function shot(name) {
  await page.screenshot({ path: join(artifacts, name), fullPage: true });
}

const page = await browser.newPage();
try {
  await page.setViewport({ width: 1400, height: 900 });
  page.on("console", (message) => {
    if (message.type() === "error") {
      seen.consoleErrors.push({ text: message.text(), at: message.location() });
    }
  });
  page.on("pageerror", (error) => seen.pageErrors.push(String(error)));
  page.on("requestfailed", (request) =>
    seen.failed.push({ url: request.url(), error: request.failure()?.errorText }),
  );
  page.on("response", (r) => r.status() >= 400 && seen.httpErrors.push([r.status(), r.url()]));
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url();
    if (url.startsWith("data:") || new URL(url).origin === origin) {
      request.continue();
    } else {
      seen.refused.push(url);
      request.abort("blockedbyclient");
    }
  });
  const cdp = await page.createCDPSession();
  await cdp.send("Network.enable");
  cdp.on("Network.webSocketCreated", ({ url }) => seen.sockets.push(url));

  // The page, its files and the schema (GraphiQL's introspection query).
  const schema = page.waitForResponse(
    (r) => r.request().method() === "POST" && (r.request().postData() || "").includes("__schema"),
    { timeout: STEP_MS },
  );
  schema.catch(() => {}); // awaited below: a timeout meanwhile is reported there, not a crash
  const answer = await page.goto(`${base}/graphql`, { waitUntil: "load", timeout: STEP_MS });
  await editor(QUERY_EDITOR);
  const introspection = await schema;
  print("loaded", { status: answer.status(), schemaStatus: introspection.status() });
  await shot("1-graphiql-loaded.png");

  // Its side panels and dialogs (the dialogs insert styles and measure the page's scroll bar).
  for (const [button, shown] of [
    ["Show Documentation Explorer", ".graphiql-doc-explorer"],
    ["Show GraphiQL Explorer", ".graphiql-explorer-root"],
  ]) {
    await page.click(`.graphiql-sidebar button[aria-label="${button}"]`);
    await page.waitForSelector(shown, { visible: true, timeout: STEP_MS });
  }
  await page.click('.graphiql-sidebar button[aria-label="Hide GraphiQL Explorer"]');
  await page.waitForSelector(".graphiql-explorer-root", { hidden: true, timeout: STEP_MS });
  for (const button of ["Open settings dialog", "Open short keys dialog"]) {
    await page.click(`.graphiql-sidebar button[aria-label="${button}"]`);
    await page.waitForSelector('[role="dialog"]', { visible: true, timeout: STEP_MS });
    await page.keyboard.press("Escape");
    await page.waitForSelector('[role="dialog"]', { hidden: true, timeout: STEP_MS });
  }

  const login = `mutation Login {
  login(input: {email: ${JSON.stringify(email)}, password: ${JSON.stringify(password)}}) {
    accessToken
  }
}`;
  await run(login, "Login");
  const signedIn = JSON.parse(await response("accessToken"));
  const token = signedIn.data.login.accessToken;
  print("signedIn", { tokenLength: token.length });
  await shot("2-login-mutation.png");

  // The headers editor: the tab "Headers" under the query editor.
  await page.$$eval(".graphiql-editor-tools button", (buttons) =>
    buttons.find((b) => b.textContent.trim() === "Headers").click(),
  );
  await setEditor(HEADERS_EDITOR, JSON.stringify({ Authorization: `Bearer ${token}` }, null, 2));
  const subscription = "subscription Announcements {\n  announcements {\n    title\n    body\n  }\n}\n";
  await run(subscription, "Announcements");
  print("subscribing");
  print("received", { result: JSON.parse(await response(title)) });
  await shot("3-subscription-event.png");
  // What GraphiQL left in the browser's lasting storage (tabs, history…), once it has saved.
  await new Promise((done) => setTimeout(done, 1000));
  const localStorage = await page.evaluate(() => JSON.stringify(Object.entries(window.localStorage)));
  print("done", { ...seen, localStorage });
} catch (error) {
  await shot("failure.png").catch(() => {});
  print("failed", { error: String(error && error.stack ? error.stack : error), ...seen });
  process.exitCode = 1;
} finally {
  await browser.close();
}
