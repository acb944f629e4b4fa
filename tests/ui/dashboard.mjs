// Drives the admin dashboard in Debian's chromium, for tests/interop/test_dashboard.py, which
// sets up the ensemble and its znodes, checks the results with kazoo and kills the leader
// between the two phases:
//
//   node dashboard.mjs browse    browse the tree, read a node, edit it (NoAuth without the
//                                digest, then with it), sessions, election queue, charts
//   node dashboard.mjs failover  the ensemble page shows a leader other than OLD_LEADER
//
// Environment: DASHBOARD_URL (a member's admin port), LEADER_URL (the leader's, for browse),
// OLD_LEADER (failover), DIGEST (user:password for the edit), SCREENSHOT_DIR. Every wait is bounded; a step that does not
// happen in time fails with the page's text. Prints one JSON line of findings on success.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const WAIT_MS = 15000;
const FAILOVER_WAIT_MS = 45000;
const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};

async function shot(page, name) {
  await page.screenshot({ path: join(env("SCREENSHOT_DIR"), `${name}.png`), fullPage: false });
}

// Waits until `selector` holds an element whose text contains `text`.
async function seeText(page, selector, text, timeout = WAIT_MS) {
  await page.locator(selector, { hasText: text }).first().waitFor({ timeout });
}

async function browse(page, url) {
  const found = {};
  // The tree: from the root down to /app/config by clicking children.
  await page.goto(`${url}/#tree:/`);
  await page.locator('#children a[data-child="app"]').click({ timeout: WAIT_MS });
  await seeText(page, "#crumbs", "app");
  await page.locator('#children a[data-child="config"]').click({ timeout: WAIT_MS });
  await seeText(page, "#node-data", '"replicas"');
  await page.selectOption("#data-format", "json");
  await seeText(page, "#node-data", '"replicas": 3');
  await page.selectOption("#data-format", "hex");
  await seeText(page, "#node-data", "00000000  7b 22");
  await page.selectOption("#data-format", "text");
  await seeText(page, '#node-stat tr[data-field="version"] td', "0");
  await seeText(page, '#node-stat tr[data-field="dataLength"] td', "31");
  await seeText(page, "#node-acl", "anyone");
  await shot(page, "tree");

  // A node only `DIGEST` may read and write: its data is hidden, a write without the
  // digest is refused with NoAuth, and one with it goes through.
  await page.goto(`${url}/#tree:/app/secret`);
  await seeText(page, "#node-data", "data hidden");
  await page.fill("#edit-data", "changed from the dashboard");
  await page.click("#edit-save");
  await seeText(page, "#write-result.failed", "NoAuth");
  found.withoutDigest = await page.textContent("#write-result");
  await page.fill("#auth", env("DIGEST"));
  await page.click("#edit-save");
  await seeText(page, "#write-result.ok", "OK: set /app/secret");
  found.withDigest = await page.textContent("#write-result");
  await seeText(page, "#node-data", "changed from the dashboard");
  await seeText(page, '#node-stat tr[data-field="version"] td', "1");
  await shot(page, "edit");

  // Sessions with their ephemerals, and the election queue under /election.
  await page.goto(`${url}/#sessions`);
  await seeText(page, "#sessions tbody", "/election/n_0000000000");
  await seeText(page, "#sessions tbody", "/election/n_0000000001");
  await shot(page, "sessions");
  await page.goto(`${url}/#election:/election`);
  await seeText(page, "#election tr.first", "leader / holder");
  found.electionFirst = await page.getAttribute("#election tr.first", "data-name");
  found.electionSize = await page.locator("#election tbody tr").count();
  await shot(page, "election");

  await page.goto(`${url}/#watches`);
  await seeText(page, "#watches tbody", "/app/config");

  // Charts: a few seconds of samples while the test keeps clients busy.
  await page.goto(`${url}/#charts`);
  await page.waitForFunction(() => Number(document.querySelector("#stats-line").dataset.samples) >= 12,
    null, { timeout: WAIT_MS });
  await shot(page, "charts");

  await page.goto(`${url}/#ensemble`);
  await seeText(page, "#ensemble-members td.role", "leader");
  found.leader = Number(await page.getAttribute("#ensemble-summary", "data-leader"));
  found.members = await page.locator("#ensemble-members tbody tr").count();
  // The leader's own page also shows how far each member lags.
  await page.goto(`${env("LEADER_URL")}/#ensemble`);
  await seeText(page, "#ensemble-members tr.self td.role", "leader");
  await page.waitForFunction(() => [...document.querySelectorAll("#ensemble-members tbody tr")]
    .every((tr) => /^\d+$/.test(tr.cells[6].textContent)), null, { timeout: WAIT_MS });
  await shot(page, "ensemble");
  return found;
}

async function failover(page, url) {
  const old = env("OLD_LEADER");
  await page.goto(`${url}/#ensemble`);
  await page.waitForFunction((old) => {
    const leader = document.querySelector("#ensemble-summary").dataset.leader;
    const row = leader && document.querySelector(`#ensemble-members tr[data-id="${leader}"]`);
    return leader && leader !== old && row && row.dataset.role === "leader";
  }, old, { timeout: FAILOVER_WAIT_MS });
  await seeText(page, "#ensemble-summary", "serving");
  const leader = Number(await page.getAttribute("#ensemble-summary", "data-leader"));
  await shot(page, "ensemble-failover");
  return { leader };
}

const phases = { browse, failover };
const phase = phases[process.argv[2]];
if (!phase) throw new Error(`usage: node dashboard.mjs ${Object.keys(phases).join("|")}`);

const profile = mkdtempSync(join(tmpdir(), "corral-chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1280, height: 800 },
});
try {
  const page = context.pages()[0] || (await context.newPage());
  try {
    const found = await phase(page, env("DASHBOARD_URL"));
    console.log(JSON.stringify(found));
  } catch (e) {
    const text = await page.textContent("body").catch(() => "(no page)");
    await shot(page, `failure-${process.argv[2]}`).catch(() => {});
    console.error(`${e.stack}\n--- page text ---\n${text}`);
    process.exitCode = 1;
  }
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
